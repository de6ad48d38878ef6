package dev.serveml.stats;

/**
 * A fixed log-scale latency histogram layout: four bins per power of two of nanoseconds, from
 * 2^10 ns (about 1 µs) to 2^37 ns (about 137 s); faster calls share bin 0, slower ones the last
 * bin. A bin spans at most a quarter octave, so an estimated percentile is within about 19% of
 * the true one whatever the scale. Stateless.
 */
final class LatencyBins {
    private static final int SUB_BITS = 2;
    private static final int SUB = 1 << SUB_BITS;
    private static final int MIN_EXPONENT = 10;
    private static final int MAX_EXPONENT = 37;
    /** Bin 0 (below 2^10 ns), then SUB bins per octave, the last also holding everything above. */
    static final int COUNT = 1 + (MAX_EXPONENT - MIN_EXPONENT) * SUB;

    private LatencyBins() {
    }

    /** The bin of a latency in nanoseconds (negative counts as zero). */
    static int of(long nanos) {
        if (nanos < (1L << MIN_EXPONENT)) {
            return 0;
        }
        int exponent = 63 - Long.numberOfLeadingZeros(nanos);
        if (exponent >= MAX_EXPONENT) {
            return COUNT - 1;
        }
        int sub = (int) (nanos >>> (exponent - SUB_BITS)) & (SUB - 1);
        return 1 + (exponent - MIN_EXPONENT) * SUB + sub;
    }

    /** The lowest latency of a bin, in nanoseconds. */
    static double lower(int bin) {
        if (bin == 0) {
            return 0;
        }
        int exponent = MIN_EXPONENT + (bin - 1) / SUB;
        int sub = (bin - 1) % SUB;
        return Math.scalb(1.0 + (double) sub / SUB, exponent);
    }

    /** The latency just above a bin, in nanoseconds (the last bin is given one more quarter octave). */
    static double upper(int bin) {
        return bin == 0 ? lower(1) : lower(bin) * (1.0 + 1.0 / (SUB + (bin - 1) % SUB));
    }

    /**
     * The q-quantile (0 < q <= 1) of the counted latencies in milliseconds, interpolated linearly
     * inside its bin; NaN when nothing was counted.
     */
    static double quantileMillis(long[] counts, double q) {
        long total = 0;
        for (long c : counts) {
            total += c;
        }
        if (total == 0) {
            return Double.NaN;
        }
        double rank = q * total;
        long below = 0;
        for (int i = 0; i < counts.length; i++) {
            long c = counts[i];
            if (c > 0 && below + c >= rank) {
                double fraction = Math.min(1, Math.max(0, (rank - below) / c));
                return (lower(i) + (upper(i) - lower(i)) * fraction) / 1e6;
            }
            below += c;
        }
        return upper(counts.length - 1) / 1e6;
    }
}
