#!/usr/bin/env python3
"""How the RAG quote check's threshold was chosen, reproducibly (docs/evaluation.md, *The quote check*).

Runs `cascade eval cascade` as a new tenant (no labels: the knowledge base's label-free
calibration) on each development set with `quote_threshold` set to each value of a grid, then,
leaving one set out at a time, picks the value with the lowest mean false-resolution rate on the
other sets among those keeping correct auto-resolution >= 50% on each of them, and prints what that
value does on the set left out. The last line is the value the same rule picks on all the sets.

  tools/eval/quote_threshold_study.py [--cascade .build/release/cascade] [SET ...]

Sets default to the four development sets; never pass a set you report on.
"""
import argparse, json, os, subprocess, sys, tempfile

DEV = ["corpora/sqlite-docs/eval", "corpora/sqlite-docs/heldout", "corpora/sqlite-docs/heldout-b",
       "corpora/debian-handbook"]
GRID = [round(0.5 + 0.025 * i, 3) for i in range(15)]


def run(cascade, dataset, tenants, value):
    tenant = "qt" + str(value).replace(".", "_")
    with open(os.path.join(tenants, tenant + ".yaml"), "w") as f:
        f.write(f"quote_threshold: {value}\n")
    out = subprocess.run([cascade, "eval", "cascade", "--dataset", dataset, "--tenant", tenant,
                          "--tenants-dir", tenants, "--json"], check=True, capture_output=True, text=True)
    s = json.loads(out.stdout)["summary"]
    return s["false_resolution_rate"], s["correct_auto_resolution_rate"], s["answer_precision"]


def choose(table, sets):
    ok = [v for v in GRID if v == 0 or min(table[s][v][1] for s in sets) >= 0.5]
    return min(ok, key=lambda v: (sum(table[s][v][0] for s in sets) / len(sets), v))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cascade", default=".build/release/cascade")
    parser.add_argument("sets", nargs="*", default=DEV)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tenants:
        table = {s: {v: run(args.cascade, s, tenants, v) for v in [0] + GRID} for s in args.sets}
    fmt = lambda r: f"FR {r[0]:.3f} / correct {r[1]:.3f} / precision " + (f"{r[2]:.3f}" if r[2] is not None else "-")
    for s in args.sets:
        for v in [0] + GRID:
            print(f"{s:32s} {v:5.3f}  {fmt(table[s][v])}")
    print()
    for held in args.sets:
        others = [s for s in args.sets if s != held]
        v = choose(table, others)
        print(f"{held:32s} chosen on the others: {v:.3f}  {fmt(table[held][v])}   (no check: {fmt(table[held][0])})")
    print(f"chosen on all: {choose(table, args.sets):.3f}")


if __name__ == "__main__":
    sys.exit(main())
