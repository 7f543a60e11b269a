package io.sightline.load;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;

/**
 * CPU time by thread group, from Linux's {@code /proc}: this JVM's threads (the app's and the load clients', when
 * the app runs in this JVM), grouped by name without their numbers ({@code decode-loop}, {@code prefill},
 * {@code reactor-tcp-epoll} for R2DBC, {@code C2 CompilerThread}...), and every {@code postgres} process. Empty
 * where {@code /proc} cannot be read.
 */
final class ThreadCpu {

    private ThreadCpu() {
    }

    /** Ticks (hundredths of a second) per thread or process key; the key's group is its name. */
    record Snapshot(Map<String, Long> ticks, Map<String, String> groups) {

        /** Ticks spent since {@code before}, by group. */
        Map<String, Long> since(Snapshot before) {
            Map<String, Long> out = new TreeMap<>();
            ticks.forEach((key, t) -> out.merge(groups.get(key), t - before.ticks.getOrDefault(key, 0L), Long::sum));
            return out;
        }
    }

    static Snapshot now() {
        Map<String, Long> ticks = new HashMap<>();
        Map<String, String> groups = new HashMap<>();
        try (Stream<Path> threads = Files.list(Path.of("/proc/self/task"))) {
            threads.forEach(t -> add(t, "t", ticks, groups));
        } catch (IOException | RuntimeException e) {
            // no /proc: no threads counted
        }
        try (Stream<Path> procs = Files.list(Path.of("/proc"))) {
            procs.filter(p -> p.getFileName().toString().chars().allMatch(Character::isDigit))
                    .filter(p -> comm(p).startsWith("postgres"))
                    .forEach(p -> add(p, "p", ticks, groups));
        } catch (IOException | RuntimeException e) {
            // no /proc: no processes counted
        }
        return new Snapshot(ticks, groups);
    }

    /** utime + stime of one thread or process; a process gets its postgres backends' name, "postgres". */
    private static void add(Path dir, String prefix, Map<String, Long> ticks, Map<String, String> groups) {
        try {
            String stat = Files.readString(dir.resolve("stat"));
            String name = stat.substring(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
            String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
            String key = prefix + dir.getFileName();
            ticks.put(key, Long.parseLong(f[11]) + Long.parseLong(f[12]));
            groups.put(key, prefix.equals("p") ? "postgres (processes)" : name.replaceAll("[-#]?\\d*$", "").trim());
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
