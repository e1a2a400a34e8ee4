//! CPU time and resident memory of processes, from Linux's /proc. A
//! server given by pid counts with all its descendants: nginx does its
//! work in a worker process under the master.

use anyhow::{Context, Result};
use std::collections::BTreeSet;

/// CPU seconds and RSS of a set of processes at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Sample {
    pub cpu_seconds: f64,
    pub rss_kib: u64,
}

/// The pids and their descendants, as of now.
pub fn with_descendants(roots: &[u32]) -> BTreeSet<u32> {
    let mut all: BTreeSet<u32> = roots.iter().copied().collect();
    let parents: Vec<(u32, u32)> = std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| entry.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(|pid| {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
            Some((pid, parse_stat(&stat)?.ppid))
        })
        .collect();
    // Repeat until no new child joins: a tree is a few levels deep.
    loop {
        let before = all.len();
        for &(pid, ppid) in &parents {
            if all.contains(&ppid) {
                all.insert(pid);
            }
        }
        if all.len() == before {
            return all;
        }
    }
}

/// Sums CPU time and RSS over `pids`. A pid that has gone is an error: the
/// figures would be silently wrong.
pub fn sample(pids: &BTreeSet<u32>, ticks_per_second: f64) -> Result<Sample> {
    let mut total = Sample::default();
    for pid in pids {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .with_context(|| format!("process {pid} is gone"))?;
        let fields = parse_stat(&stat).with_context(|| format!("bad /proc/{pid}/stat"))?;
        total.cpu_seconds += (fields.utime + fields.stime) as f64 / ticks_per_second;
        let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
            .with_context(|| format!("process {pid} is gone"))?;
        total.rss_kib += parse_vm_rss_kib(&status).unwrap_or(0);
    }
    Ok(total)
}

/// The fields of /proc/PID/stat the bench uses.
#[derive(Debug, PartialEq, Eq)]
struct StatFields {
    ppid: u32,
    utime: u64,
    stime: u64,
}

/// The command name (field 2) is in parentheses and may hold spaces, so
/// fields are counted after the last `)`: state is field 3, ppid 4,
/// utime 14, stime 15.
fn parse_stat(stat: &str) -> Option<StatFields> {
    let after = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = after.split_whitespace().collect();
    Some(StatFields {
        ppid: fields.get(1)?.parse().ok()?,
        utime: fields.get(11)?.parse().ok()?,
        stime: fields.get(12)?.parse().ok()?,
    })
}

/// `VmRSS:   1234 kB` from /proc/PID/status.
fn parse_vm_rss_kib(status: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Clock ticks per second of /proc times: `getconf CLK_TCK`, else 100,
/// which every mainstream Linux build uses.
pub fn ticks_per_second() -> f64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|out| String::from_utf8(out.stdout).ok())
        .and_then(|text| text.trim().parse::<f64>().ok())
        .filter(|&ticks| ticks > 0.0)
        .unwrap_or(100.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_fields_after_a_name_with_spaces() {
        let stat = "4242 (tokio (rt) 1) S 17 4242 17 0 -1 4194560 500 0 0 0 \
                    250 31 0 0 20 0 3 0 12345 1000000 700 18446744073709551615";
        let fields = parse_stat(stat).unwrap();
        assert_eq!(
            fields,
            StatFields {
                ppid: 17,
                utime: 250,
                stime: 31
            }
        );
        assert_eq!(parse_stat("garbage"), None);
    }

    #[test]
    fn vm_rss() {
        let status = "Name:\tavrs\nVmPeak:\t  9000 kB\nVmRSS:\t  5120 kB\nThreads:\t3\n";
        assert_eq!(parse_vm_rss_kib(status), Some(5120));
        assert_eq!(parse_vm_rss_kib("Name: x\n"), None);
    }

    #[test]
    fn this_process_is_measurable() {
        let me = with_descendants(&[std::process::id()]);
        assert!(me.contains(&std::process::id()));
        let sample = sample(&me, ticks_per_second()).unwrap();
        assert!(sample.rss_kib > 0);
    }
}
