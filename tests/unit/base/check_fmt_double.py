"""Compares base_fmt_double with Python's repr(float) on every line dump_fmt_double prints
("<hex bits> <text>"); fails on the first mismatches. Usage: check_fmt_double.py DUMP [N]."""
import struct
import subprocess
import sys

dump = sys.argv[1]
n = sys.argv[2] if len(sys.argv) > 2 else "1000000"
text = subprocess.run([dump, n], check=True, capture_output=True, text=True).stdout
bad = total = 0
for line in text.splitlines():
    bits, got = line.split(" ")
    want = repr(struct.unpack(">d", bytes.fromhex(bits))[0])
    total += 1
    if got != want:
        bad += 1
        if bad <= 20:
            print("mismatch %s: got %s, Python %s" % (bits, got, want))
print("%d doubles, %d mismatches" % (total, bad))
sys.exit(1 if bad or total < int(n) else 0)
