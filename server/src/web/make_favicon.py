#!/usr/bin/env python3
"""Writes the dashboard's icon, server/src/main/resources/web/favicon.ico (served at /favicon.ico).

Standard library only: a 32x32 PNG (a rounded dark-blue square with three rising bars, the serving
chart) wrapped in an ICO container, which every browser reads. Run from anywhere; the output is
committed, so the build needs no image tools.
"""
import os
import struct
import zlib

SIZE = 32
BACKGROUND = (0x1f, 0x3a, 0x5f, 255)
BAR = (0xf4, 0xf7, 0xfb, 255)
CLEAR = (0, 0, 0, 0)
BARS = [(6, 11, 18), (13, 18, 11), (20, 25, 5)]  # x from, x to (exclusive), top y; all end at y 26


def pixel(x, y):
    r = 6  # corner radius
    cx = min(max(x, r), SIZE - 1 - r)
    cy = min(max(y, r), SIZE - 1 - r)
    if (x - cx) ** 2 + (y - cy) ** 2 > r * r:
        return CLEAR
    for x0, x1, top in BARS:
        if x0 <= x < x1 and top <= y < 26:
            return BAR
    return BACKGROUND


def png():
    rows = b"".join(b"\x00" + b"".join(bytes(pixel(x, y)) for x in range(SIZE)) for y in range(SIZE))

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", SIZE, SIZE, 8, 6, 0, 0, 0)  # 8-bit RGBA
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows, 9))
            + chunk(b"IEND", b""))


def ico(image):
    # ICONDIR (reserved, type 1 = icon, one image) then one ICONDIRENTRY pointing at the PNG.
    return struct.pack("<HHH", 0, 1, 1) + struct.pack("<BBBBHHII", SIZE, SIZE, 0, 0, 1, 32, len(image), 22) + image


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    out = os.path.join(here, "..", "main", "resources", "web", "favicon.ico")
    with open(out, "wb") as f:
        f.write(ico(png()))
    print("wrote", os.path.normpath(out))


if __name__ == "__main__":
    main()
