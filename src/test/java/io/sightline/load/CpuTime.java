package io.sightline.load;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;

/**
 * CPU time from Linux's {@code /proc}, in its ticks: the whole machine's busy time, and the time by thread group of
 * this JVM's threads (the app's and the load clients', when the app runs in this JVM), grouped by name without their
 * numbers ({@code decode-loop}, {@code prefill}, {@code reactor-tcp-epoll} for R2DBC, {@code C2 CompilerThread}...),
 * plus every {@code postgres} process as one group. Unknown (-1, or empty) where {@code /proc} cannot be read.
 */
final class CpuTime {

    /** Linux's USER_HZ: /proc counts in hundredths of a second on every kernel that ships today. */
    private static final double TICKS_PER_SECOND = 100;

    private CpuTime() {
    }

    static double millis(long ticks) {
        return ticks / TICKS_PER_SECOND * 1e3;
    }

    /** The machine's busy time so far (user, nice, system, irq, softirq, steal), from /proc/stat; -1 if unknown. */
    static long machineBusy() {
        try {
            String[] f = Files.readAllLines(Path.of("/proc/stat")).get(0).trim().split("\\s+");
            long busy = 0;
            for (int i : new int[] {1, 2, 3, 6, 7, 8}) {
                busy += Long.parseLong(f[i]);
            }
            return busy;
        } catch (IOException | RuntimeException e) {
            return -1;
        }
    }

    /** Ticks per thread or process key, and each key's group. */
    record Snapshot(Map<String, Long> ticks, Map<String, String> groups) {

        /** Ticks spent since {@code before}, by group. */
        Map<String, Long> since(Snapshot before) {
            Map<String, Long> out = new TreeMap<>();
            ticks.forEach((key, t) -> out.merge(groups.get(key), t - before.ticks.getOrDefault(key, 0L), Long::sum));
            return out;
        }
    }

    static Snapshot byGroup() {
        Snapshot now = new Snapshot(new HashMap<>(), new HashMap<>());
        try (Stream<Path> threads = Files.list(Path.of("/proc/self/task"))) {
            threads.forEach(t -> add(now, t, "t", null));
        } catch (IOException | RuntimeException e) {
            // no /proc: no threads counted
        }
        try (Stream<Path> procs = Files.list(Path.of("/proc"))) {
            procs.filter(p -> p.getFileName().toString().chars().allMatch(Character::isDigit))
                    .filter(p -> comm(p).startsWith("postgres"))
                    .forEach(p -> add(now, p, "p", "postgres (processes)"));
        } catch (IOException | RuntimeException e) {
            // no /proc: no processes counted
        }
        return now;
    }

    /** utime + stime of one thread or process, in {@code group}, or (null) in the group its name without numbers. */
    private static void add(Snapshot into, Path dir, String prefix, String group) {
        try {
            String stat = Files.readString(dir.resolve("stat"));
            String name = stat.substring(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
            String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
            String key = prefix + dir.getFileName();
            into.ticks().put(key, Long.parseLong(f[11]) + Long.parseLong(f[12]));
            into.groups().put(key, group != null ? group : name.replaceAll("[-#]?\\d*$", "").trim());
        } catch (IOException | RuntimeException e) {
            // the thread or process ended meanwhile
        }
    }

    private static String comm(Path proc) {
        try {
            return Files.readString(proc.resolve("comm")).trim();
        } catch (IOException e) {
            return "";
        }
    }
}
