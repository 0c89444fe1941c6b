//! `cargo bench -p openhands-lsp --bench checkpoints`: what a checkpoint costs the agent, each figure beside
//! `git status` on the same tree in the same run: a snapshot per step on a repository of 10,000 files with
//! one file changed (target: under 30 ms median), and a restore of a step that touched 100 files (under
//! 500 ms). The session's store (watched: only changed files read) and a store that rescans with git at
//! every step are measured alike.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use openhands_lsp::checkpoint::{Checkpoints, plan_restore, write_to_disk};

const FILES: usize = 10_000;
const STEPS: usize = 30;
const RESTORES: usize = 10;

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

fn git(ws: &Path, args: &[&str]) {
    let out = Command::new("git")
        .current_dir(ws)
        .args(args)
        .output()
        .unwrap();
    assert!(out.status.success(), "git {args:?}");
}

fn timed(f: impl FnOnce()) -> Duration {
    let t = Instant::now();
    f();
    t.elapsed()
}

fn main() {
    let dir = tempfile::tempdir().unwrap();
    let ws = dir.path().join("ws");
    let data = dir.path().join("data");
    // 10,000 files of about 2 KB in 100 directories, committed in the user's repository.
    for i in 0..FILES {
        let d = ws.join(format!("src/m{:03}", i % 100));
        if i < 100 {
            std::fs::create_dir_all(&d).unwrap();
        }
        let body: String = (0..40)
            .map(|l| format!("// file {i} line {l} of some source text\n"))
            .collect();
        std::fs::write(d.join(format!("f{i}.rs")), body).unwrap();
    }
    git(&ws, &["init", "-q"]);
    git(&ws, &["add", "-A"]);
    git(
        &ws,
        &[
            "-c",
            "user.name=b",
            "-c",
            "user.email=b@b",
            "commit",
            "-qm",
            "tree",
        ],
    );
    let checkpoints = Checkpoints::open_watched(&data, &ws, None).unwrap();
    let first = timed(|| {
        checkpoints.snapshot().unwrap();
    });
    let rescanning = Checkpoints::open(&dir.path().join("plain"), &ws, None).unwrap();
    let first_plain = timed(|| {
        rescanning.snapshot().unwrap();
    });

    let mut snaps = Vec::new();
    let mut plain = Vec::new();
    let mut status = Vec::new();
    for step in 0..STEPS {
        let f = ws.join(format!("src/m{:03}/f{}.rs", step % 100, step));
        std::fs::write(&f, format!("// changed at step {step}\n")).unwrap();
        let mut watched_tree = String::new();
        snaps.push(timed(|| {
            watched_tree = checkpoints.snapshot().unwrap();
        }));
        let mut plain_tree = String::new();
        plain.push(timed(|| {
            plain_tree = rescanning.snapshot().unwrap();
        }));
        assert_eq!(watched_tree, plain_tree, "both stores record the same tree");
        status.push(timed(|| git(&ws, &["status", "--porcelain"])));
    }
    let rescans = checkpoints.shadow().rescans();

    // A step that touched 100 files: restore the checkpoint taken before it.
    let mut restores = Vec::new();
    let mut status_after = Vec::new();
    for round in 0..RESTORES {
        let before = checkpoints.snapshot().unwrap();
        for i in 0..100 {
            let f = ws.join(format!("src/m{:03}/f{}.rs", i, 1000 + i * 7));
            std::fs::write(&f, format!("// round {round}\n")).unwrap();
        }
        let mut restored = 0;
        restores.push(timed(|| {
            let plan = plan_restore(&checkpoints, &before).unwrap();
            for f in &plan.files {
                write_to_disk(f).unwrap();
            }
            restored = plan.files.len();
        }));
        assert_eq!(restored, 100);
        status_after.push(timed(|| git(&ws, &["status", "--porcelain"])));
    }

    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!(
        "checkpoints on {FILES} files ({STEPS} steps, {RESTORES} restores); load average {}",
        load.split(' ').take(3).collect::<Vec<_>>().join(" ")
    );
    println!(
        "  first snapshot (cold store, watcher started)   {}",
        ms(first)
    );
    println!(
        "  first snapshot, rescanning store              {}",
        ms(first_plain)
    );
    println!(
        "  snapshot per step, one file changed   median {}  max {}   (target < 30 ms; {} rescans of {} snapshots)",
        ms(median(snaps.clone())),
        ms(*snaps.iter().max().unwrap()),
        rescans,
        STEPS + 1
    );
    println!(
        "  same, rescanning store (git add --all + write-tree)  median {}  max {}",
        ms(median(plain.clone())),
        ms(*plain.iter().max().unwrap())
    );
    println!(
        "  git status --porcelain, same tree     median {}",
        ms(median(status))
    );
    println!(
        "  restore of a step that touched 100    median {}  max {}   (target < 500 ms)",
        ms(median(restores.clone())),
        ms(*restores.iter().max().unwrap())
    );
    println!(
        "  git status after each restore         median {}",
        ms(median(status_after))
    );
}
