package dev.lantern.agent;

import java.io.File;
import java.util.concurrent.locks.LockSupport;

/**
 * The application of the quota tests: it calls {@link #tick} about 1,000 times a second, as fast
 * as it can while the file {@code <stop>.busy} exists, and 10 times a second while
 * {@code <stop>.slow} exists, until the stop file appears. LINE NUMBERS MATTER: the tests set
 * probes on {@link #TICK_LINE}.
 */
public final class HotApp {
    /** {@code done++}. */
    static final int TICK_LINE = 20;

    static volatile long done;

    static long tick(long i, String label) {
        long twice = i * 2;
        done++;
        return twice + label.length();
    }

    private HotApp() {}

    public static void main(String[] args) {
        File stop = new File(args[0]);
        File busy = new File(args[0] + ".busy");
        File slow = new File(args[0] + ".slow");
        System.out.println("app started");
        long deadline = System.currentTimeMillis() + 120_000;
        long sum = 0;
        boolean isBusy = false;
        boolean isSlow = false;
        for (long i = 0; System.currentTimeMillis() < deadline; i++) {
            sum += tick(i, "order-" + (i % 7));
            // The files are looked at every 4,096 calls when busy, so the loop stays hot.
            if (!isBusy || (i & 4095) == 0) {
                if (stop.exists()) {
                    break;
                }
                isBusy = busy.exists();
                isSlow = slow.exists();
            }
            if (!isBusy) {
                LockSupport.parkNanos(isSlow ? 100_000_000L : 1_000_000L);
            }
        }
        System.out.println("app done after " + done + " calls (" + sum + ")");
    }
}
