//! Process and disk figures for `/server_info`, read from /proc and statvfs in OpenHands' (psutil's) shape.
//!
//! Every figure degrades to zero when its source is missing or unreadable: `/server_info` is a health
//! probe and must never fail.

use std::sync::Mutex;
use std::time::Instant;

use serde_json::{Value, json};

/// The kernel reports process CPU times in USER_HZ ticks, which is 100 on every architecture we build for
/// (the value is fixed by the userspace ABI, independent of the kernel's internal HZ).
const USER_HZ: f64 = 100.0;

pub(crate) struct Stats {
    started: Instant,
    /// The wall clock and process CPU seconds at the previous snapshot, for a CPU percent without sleeping.
    last_cpu: Mutex<(Instant, f64)>,
}

impl Stats {
    pub fn new() -> Self {
        let now = Instant::now();
        Self {
            started: now,
            last_cpu: Mutex::new((now, process_cpu_secs().unwrap_or(0.0))),
        }
    }

    pub fn snapshot(&self, idle_secs: f64) -> Value {
        let memory = Memory::read();
        let disk = Disk::read();
        let io = Io::read();
        json!({
            "uptime": self.started.elapsed().as_secs_f64(),
            "idle_time": idle_secs,
            "resources": {
                "cpu_percent": self.cpu_percent(),
                "memory": {
                    "rss": memory.rss,
                    "vms": memory.vms,
                    "percent": memory.percent,
                },
                "disk": {
                    "total": disk.total,
                    "used": disk.used,
                    "free": disk.free,
                    "percent": disk.percent,
                },
                "io": {
                    "read_bytes": io.read_bytes,
                    "write_bytes": io.write_bytes,
                },
            },
        })
    }

    /// psutil's `Process.cpu_percent`: process CPU time over wall time since the previous call, in percent
    /// of one CPU (so it can exceed 100 on several cores).
    fn cpu_percent(&self) -> f64 {
        let now = Instant::now();
        let Some(cpu) = process_cpu_secs() else {
            return 0.0;
        };
        let Ok(mut last) = self.last_cpu.lock() else {
            return 0.0;
        };
        let (then, cpu_then) = *last;
        *last = (now, cpu);
        let wall = now.duration_since(then).as_secs_f64();
        if wall <= 0.0 {
            return 0.0;
        }
        ((cpu - cpu_then).max(0.0) / wall * 100.0).max(0.0)
    }
}

impl Default for Stats {
    fn default() -> Self {
        Self::new()
    }
}

/// User plus system CPU seconds of this process, from fields 14 and 15 of /proc/self/stat.
fn process_cpu_secs() -> Option<f64> {
    parse_cpu_ticks(&std::fs::read_to_string("/proc/self/stat").ok()?).map(|t| t as f64 / USER_HZ)
}

fn parse_cpu_ticks(stat: &str) -> Option<u64> {
    // The command name (field 2) is in parentheses and may contain spaces or ')': split after the last ')'.
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace();
    // `rest` starts at field 3 (state); utime and stime are fields 14 and 15.
    let utime: u64 = fields.nth(11)?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some(utime + stime)
}

/// The value in bytes of a `Key:   123 kB` line, as found in /proc/self/status and /proc/meminfo.
fn kib_field(text: &str, key: &str) -> Option<u64> {
    text.lines().find_map(|line| {
        let value = line.strip_prefix(key)?.strip_prefix(':')?;
        let number: u64 = value.split_whitespace().next()?.parse().ok()?;
        Some(number * 1024)
    })
}

/// The value of a `key: 123` line, as found in /proc/self/io.
fn plain_field(text: &str, key: &str) -> Option<u64> {
    text.lines().find_map(|line| {
        line.strip_prefix(key)?
            .strip_prefix(':')?
            .trim()
            .parse()
            .ok()
    })
}

#[derive(Debug, Default, PartialEq)]
struct Memory {
    rss: u64,
    vms: u64,
    percent: f64,
}

impl Memory {
    fn read() -> Self {
        let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
        let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
        Self::parse(&status, &meminfo)
    }

    /// psutil's `memory_info()` and `memory_percent()`: RSS over total physical memory.
    fn parse(status: &str, meminfo: &str) -> Self {
        let rss = kib_field(status, "VmRSS").unwrap_or(0);
        let vms = kib_field(status, "VmSize").unwrap_or(0);
        let total = kib_field(meminfo, "MemTotal").unwrap_or(0);
        let percent = if total > 0 {
            rss as f64 / total as f64 * 100.0
        } else {
            0.0
        };
        Self { rss, vms, percent }
    }
}

#[derive(Debug, Default, PartialEq)]
struct Disk {
    total: u64,
    used: u64,
    free: u64,
    percent: f64,
}

impl Disk {
    // fsblkcnt_t and friends are 32-bit on some targets, so the casts are only useless on 64-bit ones.
    #[allow(clippy::unnecessary_cast)]
    fn read() -> Self {
        match nix::sys::statvfs::statvfs("/") {
            Ok(s) => Self::from_blocks(
                s.fragment_size() as u64,
                s.blocks() as u64,
                s.blocks_free() as u64,
                s.blocks_available() as u64,
            ),
            Err(_) => Self::default(),
        }
    }

    /// psutil's `disk_usage`: `free` is what an unprivileged user may use, and the percent (rounded to one
    /// decimal) is of `used + free`, so reserved blocks do not count as free.
    fn from_blocks(frsize: u64, blocks: u64, bfree: u64, bavail: u64) -> Self {
        let total = blocks.saturating_mul(frsize);
        let used = blocks.saturating_sub(bfree).saturating_mul(frsize);
        let free = bavail.saturating_mul(frsize);
        let user_total = used + free;
        let percent = if user_total > 0 {
            (used as f64 / user_total as f64 * 1000.0).round() / 10.0
        } else {
            0.0
        };
        Self {
            total,
            used,
            free,
            percent,
        }
    }
}

#[derive(Debug, Default, PartialEq)]
struct Io {
    read_bytes: u64,
    write_bytes: u64,
}

impl Io {
    /// /proc/self/io can be unreadable (hardened kernels, some containers): zeros then.
    fn read() -> Self {
        let text = std::fs::read_to_string("/proc/self/io").unwrap_or_default();
        Self {
            read_bytes: plain_field(&text, "read_bytes").unwrap_or(0),
            write_bytes: plain_field(&text, "write_bytes").unwrap_or(0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_ticks_survive_a_command_name_with_spaces_and_parens() {
        let stat = "4242 (my (odd) prog) S 1 4242 4242 0 -1 4194560 900 0 0 0 37 5 0 0 20 0 3 0 1000 \
                    12345678 300 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 2 0 0 0 0 0";
        assert_eq!(parse_cpu_ticks(stat), Some(42));
        assert_eq!(parse_cpu_ticks("garbage"), None);
    }

    #[test]
    fn memory_comes_from_status_and_meminfo() {
        let status = "Name:\tx\nVmSize:\t  20000 kB\nVmRSS:\t   5000 kB\n";
        let meminfo = "MemTotal:       100000 kB\nMemFree:  1 kB\n";
        assert_eq!(
            Memory::parse(status, meminfo),
            Memory {
                rss: 5_120_000,
                vms: 20_480_000,
                percent: 5.0
            }
        );
        assert_eq!(Memory::parse("", ""), Memory::default());
    }

    #[test]
    fn disk_percent_excludes_reserved_blocks_like_psutil() {
        // 1000 blocks, 300 free of which 200 available to users: used 700, percent 700/900.
        assert_eq!(
            Disk::from_blocks(4096, 1000, 300, 200),
            Disk {
                total: 4_096_000,
                used: 2_867_200,
                free: 819_200,
                percent: 77.8
            }
        );
        assert_eq!(Disk::from_blocks(4096, 0, 0, 0), Disk::default());
    }

    #[test]
    fn io_fields_are_parsed_by_exact_key() {
        let io =
            "rchar: 5\nwchar: 6\nread_bytes: 4096\nwrite_bytes: 8192\ncancelled_write_bytes: 1\n";
        assert_eq!(plain_field(io, "read_bytes"), Some(4096));
        assert_eq!(plain_field(io, "write_bytes"), Some(8192));
    }

    #[test]
    fn cpu_percent_measures_work_since_the_previous_call() {
        let stats = Stats::new();
        let start = process_cpu_secs().unwrap();
        let deadline = Instant::now() + std::time::Duration::from_secs(10);
        // Spin until the kernel has charged at least a few ticks to this process.
        while process_cpu_secs().unwrap() < start + 0.05 && Instant::now() < deadline {
            std::hint::black_box((0..1000u64).sum::<u64>());
        }
        assert!(stats.cpu_percent() > 0.0);
    }

    #[test]
    fn a_snapshot_has_exactly_openhands_keys() {
        let stats = Stats::new();
        let snap = stats.snapshot(1.5);
        let keys = |v: &Value| -> Vec<String> {
            v.as_object()
                .map(|m| m.keys().cloned().collect())
                .unwrap_or_default()
        };
        assert_eq!(keys(&snap), ["uptime", "idle_time", "resources"]);
        assert_eq!(
            keys(&snap["resources"]),
            ["cpu_percent", "memory", "disk", "io"]
        );
        assert_eq!(
            keys(&snap["resources"]["memory"]),
            ["rss", "vms", "percent"]
        );
        assert_eq!(
            keys(&snap["resources"]["disk"]),
            ["total", "used", "free", "percent"]
        );
        assert_eq!(
            keys(&snap["resources"]["io"]),
            ["read_bytes", "write_bytes"]
        );
        assert_eq!(snap["idle_time"], 1.5);
        assert!(snap["resources"]["memory"]["rss"].as_u64().unwrap() > 0);
        assert!(snap["resources"]["disk"]["total"].as_u64().unwrap() > 0);
    }
}
