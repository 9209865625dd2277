"""Grade the fixture submissions of every assignment with nbgrader and print the scores.

    python assignments/grade_demo.py               # in a temporary copy of the course
    python assignments/grade_demo.py --keep DIR    # keep the course copies (release/, ...)
    python assignments/grade_demo.py --unsandboxed # without the sandbox (scores not protected)

For each assignment: ``nbgrader generate_assignment``, the generated fixture
submissions (reference, blank, buggy, looping, kernel-killing, tampered-with,
and the tampering corpus) in ``submitted/``, plain ``nbgrader autograde``; the
tables come from nbgrader's gradebook and the grader's tamper report. Code
marks only: the written answer of ps3 waits for a human.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import course_tools as ct  # noqa: E402
import tampering  # noqa: E402

VICTIM = "zz_honest"


def _cell(run: ct.GradingRun, student: str) -> str:
    res = run.results.get(student)
    if res is None:
        return "-"
    text = f"{res.code_score:g}/{res.code_max:g}"
    return text if res.graded else text + " (failed)"


def _fixtures(assignment: str) -> list[ct.Variant]:
    corpus = tampering.corpus(assignment, victim=VICTIM, port=9)
    return ct.variants(assignment) + corpus


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", type=Path, help="grade in this folder and keep it")
    parser.add_argument("--jobs", type=int, default=2, help="assignments graded at once")
    parser.add_argument(
        "--unsandboxed", action="store_true", help="grade without the sandbox (to compare times)"
    )
    args = parser.parse_args(argv)
    extra = ["--SandboxedExecute.sandbox=none"] if args.unsandboxed else []

    with tempfile.TemporaryDirectory(prefix="losskit-grade-demo-") as tmp:
        base = args.keep.resolve() if args.keep else Path(tmp)
        t0 = time.perf_counter()

        def one(assignment):
            root = ct.copy_course(base / assignment)
            return ct.grade_assignment(root, assignment, _fixtures(assignment), extra)

        with ThreadPoolExecutor(max_workers=args.jobs) as pool:
            runs = dict(zip(ct.ASSIGNMENTS, pool.map(one, ct.ASSIGNMENTS), strict=True))
        elapsed = time.perf_counter() - t0

        students: list[str] = []
        for a in ct.ASSIGNMENTS:
            for v in _fixtures(a):
                if v.student not in students:
                    students.append(v.student)
        width = max(len(s) for s in students) + 2
        cols = [max(len(a), 14) + 2 for a in ct.ASSIGNMENTS]
        if args.unsandboxed:
            print("*** graded WITHOUT the sandbox: these scores are not protected ***\n")
        print(
            f"{'student':<{width}}"
            + "".join(f"{a:<{c}}" for a, c in zip(ct.ASSIGNMENTS, cols, strict=True))
            + "findings (ps1 / first assignment that has some)"
        )
        print("-" * (width + sum(cols) + 40))
        for s in students:
            row = "".join(
                f"{_cell(runs[a], s):<{c}}" for a, c in zip(ct.ASSIGNMENTS, cols, strict=True)
            )
            results = [runs[a].results.get(s) for a in ct.ASSIGNMENTS]
            found = next((r.findings for r in results if r is not None and r.findings), [])
            note = "; ".join(found)
            print(f"{s:<{width}}{row}{note[:150] + ('...' if len(note) > 150 else '')}")
        print(
            "(code marks; ps3's written answer, 2 points, is graded by hand; (failed): nbgrader "
            "could not grade that notebook; findings: the tamper report, tamper_report.json)"
        )
        print()
        for a in ct.ASSIGNMENTS:
            run = runs[a]
            loop = run.seconds.get("autograde infinite_loop")
            times = [r.seconds for r in run.results.values() if r.seconds is not None]
            print(
                f"{a}: generate {run.seconds['generate_assignment']:.0f} s, "
                f"infinite_loop graded in {loop:.0f} s (budget {ct.LOOP_BUDGET_S} s), "
                f"everyone else {run.seconds['autograde']:.0f} s; per submission median "
                f"{statistics.median(times):.1f} s, max {max(times):.1f} s "
                f"({'no sandbox' if args.unsandboxed else 'sandboxed'}, {len(times)} graded)"
            )
            for v in ct.variants(a):
                if v.zero_cells:
                    res = run.results[v.student]
                    lost = sorted(
                        k
                        for k, g in res.cells.items()
                        if g.cell_type == "code" and g.score < g.max_score
                    )
                    print(f"  {v.student}: {v.description}; lost {', '.join(lost)}")
        print(
            f"\nwhole pipeline: {elapsed:.0f} s"
            + (f"; course copies in {base}" if args.keep else "")
        )
        ok = all(
            runs[a].results["reference"].code_score == runs[a].results["reference"].code_max
            for a in ct.ASSIGNMENTS
        )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
