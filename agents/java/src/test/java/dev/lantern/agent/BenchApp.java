package dev.lantern.agent;

import java.io.File;

/**
 * The application of the probe micro-benchmark: it times {@link #work} uninstrumented, prints
 * {@code bench ready}, waits for the file {@code STOP.go} (created once the test's probe is
 * installed), times the same method again and prints both. LINE NUMBERS MATTER: see
 * {@link #LINE}.
 */
public final class BenchApp {
    /** The line {@code x ^= x >>> 7;} in {@link #work}. */
    static final int LINE = 21;

    private BenchApp() {}

    static volatile long sink;

    static int work(int i) {
        int x = i * 31;
        x ^= x >>> 7;
        return x;
    }

    /** The best of a few rounds, in ns per call. */
    static double measure(int calls) {
        double best = Double.MAX_VALUE;
        for (int round = 0; round < 5; round++) {
            long acc = 0;
            long t0 = System.nanoTime();
            for (int i = 0; i < calls; i++) {
                acc += work(i);
            }
            long t = System.nanoTime() - t0;
            sink += acc;
            best = Math.min(best, (double) t / calls);
        }
        return best;
    }

    public static void main(String[] args) throws Exception {
        File stop = new File(args[0]);
        File go = new File(args[0] + ".go");
        measure(2_000_000);
        double plain = measure(5_000_000);
        System.out.println("bench plain " + plain);
        System.out.println("bench ready");
        long deadline = System.currentTimeMillis() + 120_000;
        while (!go.exists() && System.currentTimeMillis() < deadline) {
            Thread.sleep(20);
        }
        measure(1_000_000);
        double probed = measure(2_000_000);
        System.out.println("bench probed " + probed);
        while (!stop.exists() && System.currentTimeMillis() < deadline) {
            Thread.sleep(20);
        }
    }
}
