"""``nat-bench synth``: pairs/s of ``nat-synth`` and whether its peak memory stays flat.

Generates N/4 and N training pairs (and 0, the fixed cost of the lexicon) in fresh child
processes, side by side, and prints pairs/s plus the ratios time(N)/time(N/4) (about 4 when
generation is linear) and peak RSS(N)/RSS(N/4) (about 1 when memory is flat: streaming).
"""
import json
import subprocess
import sys
import tempfile
from dataclasses import dataclass

from nat.cli import add_subcommand, arg

CHILD = """
import json, resource, sys, time
from nat.synth import generate_corpus

def peak_mib():
    # VmHWM is this process's own peak (ru_maxrss survives execve and would show the parent's)
    try:
        with open("/proc/self/status") as handle:
            for line in handle:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

n, preset, mode, out = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
wall, cpu = time.perf_counter(), time.process_time()
generate_corpus(out, mode=mode, seed=1, sizes=(n, 0, 0), preset=preset)
print(json.dumps({"pairs": n if mode != "all" else 3 * n,
                  "wall_s": time.perf_counter() - wall, "cpu_s": time.process_time() - cpu,
                  "peak_rss_mib": peak_mib()}))
"""


def measure(n, preset, mode):
    with tempfile.TemporaryDirectory(prefix="nat-bench-synth-") as out:
        done = subprocess.run([sys.executable, "-c", CHILD, str(n), preset, mode, out],
                              check=True, capture_output=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def run(args):
    rows = [measure(n, args.preset, args.mode) for n in (0, args.pairs // 4, args.pairs)]
    print(f"nat-synth --preset {args.preset} --mode {args.mode} (one core, child processes)")
    for row in rows:
        rate = row["pairs"] / row["cpu_s"] if row["pairs"] else float("nan")
        print(f"  {row['pairs']:>9d} pairs  wall {row['wall_s']:7.2f} s  cpu {row['cpu_s']:7.2f} s"
              f"  {rate:10.0f} pairs/cpu-s  peak RSS {row['peak_rss_mib']:7.1f} MiB")
    small, big = rows[1], rows[2]
    marginal = (big["pairs"] - small["pairs"]) / max(big["cpu_s"] - small["cpu_s"], 1e-9)
    print(f"  marginal rate (N - N/4 pairs over the cpu-time difference): {marginal:.0f} pairs/s")
    print(f"  time ratio N/(N/4) (cpu): {big['cpu_s'] / max(small['cpu_s'], 1e-9):.2f} "
          f"(4 = linear); peak RSS ratio: {big['peak_rss_mib'] / small['peak_rss_mib']:.3f} "
          f"(1 = flat; lexicon only: {rows[0]['peak_rss_mib']:.1f} MiB)")
    print(f"  projected 1,000,000 pairs: {1e6 * big['cpu_s'] / big['pairs']:.1f} cpu-s")
    return 0


@dataclass
class SynthOptions:
    """``nat-bench synth``'s flags."""
    pairs: int = arg("largest corpus (pairs)", 1000000)
    preset: str = arg("nat-synth grammar preset", "default", choices=("default", "small"))
    mode: str = arg("nat-synth --mode", "random", choices=("random", "deterministic", "all"))


def register(subparsers):
    add_subcommand(subparsers, "synth", SynthOptions, run,
                   help="nat-synth pairs/s and peak memory")
