// SPDX-License-Identifier: GPL-2.0
// pingpong: a scheduler load. PAIRS pairs of threads pass one byte back and forth through two pipes,
// each read blocking until the other thread writes: every round trip puts each thread to sleep and
// wakes it up again (two wakeups, two waits for a CPU that runqlat measures). As fast as possible, or
// paced at RATE round trips per second in all (shared by the pairs), for SECONDS (0: until SIGINT or
// SIGTERM). The threads are named bench-ping and bench-pong (their comm), so a program that counts
// per command name can tell this load's waits from the machine's. Prints one JSON line at the end:
//   {"pid": P, "pairs": N, "round_trips": R, "seconds": S, "rate": R/S}
// Build: clang -O2 -Wall -pthread -o pingpong pingpong.c
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#define MAX_PAIRS 64

struct pair {
	int ping[2];     // ping -> pong
	int pong[2];     // pong -> ping
	uint64_t rate;   // round trips per second of this pair (0: as fast as possible)
	uint64_t done;   // round trips completed (read by main once the pair has ended)
	pthread_t ping_thread, pong_thread;
};

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

static void sleep_until(uint64_t due)
{
	struct timespec ts = {.tv_sec = due / 1000000000ull, .tv_nsec = due % 1000000000ull};

	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR && !stop)
		;
}

static void *pong(void *arg)
{
	struct pair *p = arg;
	char byte;

	pthread_setname_np(pthread_self(), "bench-pong");
	while (read(p->ping[0], &byte, 1) == 1)  // 0 once ping closed its end: the pair is done
		if (write(p->pong[1], &byte, 1) != 1)
			break;
	close(p->pong[1]);
	return NULL;
}

static void *ping(void *arg)
{
	struct pair *p = arg;
	/* Paced: check the clock about every 0.25 ms of round trips, sleep when ahead. */
	uint64_t batch = p->rate ? (p->rate / 4000 ? p->rate / 4000 : 1) : UINT64_MAX, start = now_ns();
	char byte = 'x';

	pthread_setname_np(pthread_self(), "bench-ping");
	while (!stop) {
		if (write(p->ping[1], &byte, 1) != 1 || read(p->pong[0], &byte, 1) != 1)
			break;
		p->done++;
		if (p->rate && p->done % batch == 0) {
			uint64_t due = start + p->done * 1000000000ull / p->rate;

			if (due > now_ns())
				sleep_until(due);
		}
	}
	close(p->ping[1]);
	return NULL;
}

int main(int argc, char **argv)
{
	static struct pair pairs[MAX_PAIRS];
	struct sigaction sa = {.sa_handler = on_signal};
	uint64_t count, seconds, rate, start, end, total = 0;
	sigset_t all, old;

	if (argc != 4 || (count = strtoull(argv[1], NULL, 10)) < 1 || count > MAX_PAIRS) {
		fprintf(stderr, "usage: %s PAIRS(1-%d) SECONDS RATE\n", argv[0], MAX_PAIRS);
		return 2;
	}
	seconds = strtoull(argv[2], NULL, 10);
	rate = strtoull(argv[3], NULL, 10);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGALRM, &sa, NULL);
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);  // the threads inherit this: signals go to main only
	start = now_ns();
	for (uint64_t i = 0; i < count; i++) {
		struct pair *p = &pairs[i];

		if (pipe(p->ping) || pipe(p->pong)) {
			perror("pipe");
			return 1;
		}
		p->rate = rate / count + (i < rate % count);
		if (rate && !p->rate)
			p->rate = 1;
		pthread_create(&p->pong_thread, NULL, pong, p);
		pthread_create(&p->ping_thread, NULL, ping, p);
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (seconds)
		alarm((unsigned)seconds);
	while (!stop)
		pause();
	for (uint64_t i = 0; i < count; i++) {
		pthread_join(pairs[i].ping_thread, NULL);
		pthread_join(pairs[i].pong_thread, NULL);
		total += pairs[i].done;
	}
	end = now_ns();
	printf("{\"pid\": %d, \"pairs\": %llu, \"round_trips\": %llu, \"seconds\": %.6f, \"rate\": %.1f}\n",
	       (int)getpid(), (unsigned long long)count, (unsigned long long)total, (end - start) / 1e9,
	       end > start ? total * 1e9 / (end - start) : 0.0);
	return 0;
}
