// SPDX-License-Identifier: GPL-2.0
// flood: open(2) one path COUNT times (0: until killed), as fast as possible or paced at RATE
// opens per second, closing each descriptor. Prints one JSON line on stdout at the end:
//   {"pid": P, "opens": N, "failed": F, "seconds": S, "rate": R}
// Build: clang -O2 -Wall -o flood flood.c
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int main(int argc, char **argv)
{
	const char *path;
	uint64_t count, rate, done = 0, failed = 0, start, end, batch;
	struct sigaction sa = {.sa_handler = on_signal};

	if (argc < 3 || argc > 4) {
		fprintf(stderr, "usage: %s PATH COUNT [RATE]\n", argv[0]);
		return 2;
	}
	path = argv[1];
	count = strtoull(argv[2], NULL, 10);
	rate = argc == 4 ? strtoull(argv[3], NULL, 10) : 0;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	/* Paced: check the clock every `batch` opens (about every 0.25 ms), sleep when ahead. */
	batch = rate ? (rate / 4000 ? rate / 4000 : 1) : UINT64_MAX;

	start = now_ns();
	while (!stop && (count == 0 || done < count)) {
		int fd = open(path, O_RDONLY | O_CLOEXEC);

		if (fd >= 0)
			close(fd);
		else
			failed++;
		done++;
		if (rate && done % batch == 0) {
			uint64_t due = start + done * 1000000000ull / rate;
			uint64_t t = now_ns();

			if (due > t) {
				struct timespec ts = {.tv_sec = due / 1000000000ull, .tv_nsec = due % 1000000000ull};

				while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR && !stop)
					;
			}
		}
	}
	end = now_ns();
	printf("{\"pid\": %d, \"opens\": %llu, \"failed\": %llu, \"seconds\": %.6f, \"rate\": %.1f}\n", (int)getpid(),
	       (unsigned long long)done, (unsigned long long)failed, (end - start) / 1e9,
	       (end > start) ? done * 1e9 / (end - start) : 0.0);
	return 0;
}
