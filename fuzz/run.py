"""Run the fuzz targets with atheris (libFuzzer, coverage-guided): `python -m fuzz.run [TARGET ...]`.

Each target runs in a process of its own for `--seconds`, `--jobs` at a time, starting from its seeds
(`fuzz.targets.seeds`) and the inputs that once broke it (`fuzz/regressions/`). libFuzzer stops a target
at its first finding: an exception other than `BeeError`, an input that takes longer than `--timeout`
seconds (a hang), or a process over `--rss-limit-mb` (unbounded memory). Each finding is copied to
`fuzz/regressions/<target>/` (unless `--no-save`), where the test suite replays it, and the run exits 1.

Prints one line per target as it ends and a table at the end; `--json FILE` writes the same numbers.
The corpus each run grows is kept under `--work` (default: a temporary directory, removed), so a later
run with the same `--work` goes on from it.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

from fuzz.targets import MAX_INPUT, REGRESSIONS, REPO, TARGETS, regressions, run_one, seeds

FINDING_PREFIXES = ("crash-", "timeout-", "oom-", "leak-", "slow-unit-")
_EXECUTED = re.compile(r"stat::number_of_executed_units:\s*(\d+)")
_COVERAGE = re.compile(r"#\d+\s+\w+\s+cov: (\d+) ft: (\d+) corp: (\d+)")


@dataclass
class Outcome:
    target: str
    seconds: float
    executions: int
    coverage: int  # libFuzzer's edge count ("cov")
    corpus: int  # inputs in the corpus at the end
    exit_status: int
    findings: list[str]  # file names of the inputs that broke the target (copied to fuzz/regressions)
    error: str  # the last lines of the target's output when it failed

    @property
    def ok(self) -> bool:
        return self.exit_status == 0 and not self.findings and self.executions > 0


# -- the child: one target under libFuzzer ---------------------------------------------------------------


def _child(name: str, seconds: int, work: Path, timeout: int, rss_limit_mb: int) -> None:
    import atheris

    corpus = work / name / "corpus"
    corpus.mkdir(parents=True, exist_ok=True)
    inputs = [*seeds(name), *regressions(name)]
    for label, data in inputs:
        if len(data) <= MAX_INPUT:
            (corpus / label.replace("/", "_")).write_bytes(data)
    with atheris.instrument_imports(include=["bee"]):
        run_one(name, inputs[0][1])  # imports the modules the target reaches, instrumented

    def test_one_input(data: bytes) -> None:
        run_one(name, data)

    atheris.Setup([sys.argv[0], f"-max_total_time={seconds}", f"-timeout={timeout}",
                   f"-rss_limit_mb={rss_limit_mb}", f"-max_len={MAX_INPUT}", "-print_final_stats=1",
                   f"-artifact_prefix={work / name}/", str(corpus)], test_one_input)
    atheris.Fuzz()


# -- the parent ------------------------------------------------------------------------------------------


def _run_target(name: str, args: argparse.Namespace, work: Path) -> Outcome:
    (work / name).mkdir(parents=True, exist_ok=True)
    for old in (work / name).iterdir():
        if old.name.startswith(FINDING_PREFIXES):
            old.unlink()
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])))
    command = [sys.executable, "-m", "fuzz.run", "--child", name, "--seconds", str(args.seconds),
               "--work", str(work), "--timeout", str(args.timeout), "--rss-limit-mb", str(args.rss_limit_mb)]
    started = time.monotonic()
    log = work / name / "libfuzzer.log"
    with log.open("wb") as out:
        # the overall bound: libFuzzer stops itself at --seconds; a target stuck outside an input is killed
        try:
            status = subprocess.run(command, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=REPO,
                                    timeout=args.seconds + args.timeout + 120).returncode
        except subprocess.TimeoutExpired:
            status = -9
    elapsed = time.monotonic() - started
    text = log.read_text(errors="replace")
    executed = _EXECUTED.findall(text)
    coverage = _COVERAGE.findall(text)
    findings = sorted(p.name for p in (work / name).iterdir() if p.name.startswith(FINDING_PREFIXES))
    if findings and not args.no_save:
        (REGRESSIONS / name).mkdir(parents=True, exist_ok=True)
        for finding in findings:
            shutil.copyfile(work / name / finding, REGRESSIONS / name / finding)
    failed = status != 0 or bool(findings)
    return Outcome(
        target=name, seconds=round(elapsed, 1), executions=int(executed[-1]) if executed else 0,
        coverage=int(coverage[-1][0]) if coverage else 0, corpus=int(coverage[-1][2]) if coverage else 0,
        exit_status=status, findings=findings,
        error="\n".join(text.strip().splitlines()[-25:]) if failed else "",
    )


def _table(outcomes: list[Outcome]) -> str:
    lines = ["| target | seconds | inputs run | inputs/s | coverage (edges) | corpus | result |",
             "|---|---:|---:|---:|---:|---:|---|"]
    for o in outcomes:
        result = "ok" if o.ok else (", ".join(o.findings) or f"exit {o.exit_status}")
        rate = o.executions / o.seconds if o.seconds else 0
        lines.append(f"| {o.target} | {o.seconds:.0f} | {o.executions:,} | {rate:,.0f} | {o.coverage:,} | "
                     f"{o.corpus:,} | {result} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m fuzz.run", description=__doc__.split("\n\n")[0])
    parser.add_argument("targets", nargs="*", metavar="TARGET", help=f"of: {', '.join(TARGETS)} [all]")
    parser.add_argument("--seconds", type=int, default=60, help="run time of each target [%(default)s]")
    parser.add_argument("--jobs", type=int, default=max(1, (os.cpu_count() or 1)),
                        help="targets run at once [the number of CPUs]")
    parser.add_argument("--timeout", type=int, default=10, help="seconds one input may take [%(default)s]")
    parser.add_argument("--rss-limit-mb", type=int, default=2048, help="memory a target may use [%(default)s]")
    parser.add_argument("--work", type=Path, help="where corpora and logs are kept [a temporary directory]")
    parser.add_argument("--no-save", action="store_true", help="do not copy findings to fuzz/regressions/")
    parser.add_argument("--json", type=Path, help="also write the outcomes to this JSON file")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        _child(args.child, args.seconds, args.work, args.timeout, args.rss_limit_mb)
        return 0
    unknown = [t for t in args.targets if t not in TARGETS]
    if unknown:
        parser.error(f"unknown target {', '.join(unknown)}; the targets are {', '.join(TARGETS)}")
    names = args.targets or list(TARGETS)
    work = args.work or Path(tempfile.mkdtemp(prefix="bee-fuzz-work-"))
    work.mkdir(parents=True, exist_ok=True)
    print(f"fuzzing {len(names)} targets for {args.seconds} s each, {args.jobs} at a time; work in {work}",
          file=sys.stderr, flush=True)
    outcomes: list[Outcome] = []

    def one(name: str) -> Outcome:
        outcome = _run_target(name, args, work)
        verdict = "ok" if outcome.ok else "FAILED"
        print(f"{name}: {outcome.executions:,} inputs in {outcome.seconds:.0f} s, coverage {outcome.coverage}, "
              f"{verdict}", file=sys.stderr, flush=True)
        if not outcome.ok:
            print(outcome.error, file=sys.stderr, flush=True)
        return outcome

    try:
        with ThreadPoolExecutor(max_workers=args.jobs) as pool:
            outcomes = list(pool.map(one, names))
    finally:
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)
    print(_table(outcomes))
    if args.json:
        args.json.write_text(json.dumps([asdict(o) for o in outcomes], indent=2) + "\n")
    found = [o for o in outcomes if o.findings]
    if found and not args.no_save:
        print(f"findings copied to {REGRESSIONS}/: fix them, then commit them (the tests replay them)",
              file=sys.stderr)
    return 0 if all(o.ok for o in outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
