//! Integration tests: storage. Conversations written through the event stream, listed, loaded and
//! resumed; logs torn by a crash or corrupted; unwritable data directories; hostile ids; load speed.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use openhands_lsp::events::{Event, EventSource, EventStream};
use openhands_lsp::storage::{
    ConversationId, ConversationMeta, INTERRUPTED, ProcessOwner, Storage, StorageError,
    torn_line_warning,
};
use openhands_runtime_api::{Action, ActionEvent, CmdRunAction, Observation};
use pretty_assertions::assert_eq;

fn run(command: &str) -> Event {
    Event::Action(ActionEvent::new(Action::Run(CmdRunAction::new(command))))
}

fn new_meta(workspace: &Path) -> ConversationMeta {
    let mut meta = ConversationMeta::new(&ConversationId::generate(), workspace.to_path_buf());
    meta.title = "fix the tests".into();
    meta.model = "test-model".into();
    meta.runtime = "local".into();
    meta
}

fn events_path(storage: &Storage, id: &str) -> PathBuf {
    storage
        .root()
        .join("conversations")
        .join(id)
        .join("events.jsonl")
}

/// A conversation with `n` events written through a stream, as the controller writes them.
fn conversation(storage: &Storage, n: usize) -> ConversationMeta {
    let meta = new_meta(Path::new("/work/project"));
    let log = storage.create(meta.clone()).unwrap();
    let stream = EventStream::new(Vec::new(), Some(Box::new(log)));
    for i in 0..n {
        let event = if i % 2 == 0 {
            run(&format!("echo {i}"))
        } else {
            Event::Observation(Observation::error(format!("result {i}")))
        };
        stream.add(event, EventSource::Agent).unwrap();
    }
    meta
}

fn ids(events: &[Event]) -> Vec<i64> {
    events.iter().map(Event::id).collect()
}

#[test]
fn conversations_round_trip_and_resume_continues_the_ids() {
    let data = tempfile::tempdir().unwrap();
    let storage = Storage::open(data.path().join("data")).unwrap();
    assert_eq!(storage.list().unwrap(), vec![]);

    let first = conversation(&storage, 3);
    let mut second = conversation(&storage, 1);
    second.updated_at = "2999-01-01T00:00:00.000000".into();
    second.state = "finished".into();
    second.accumulated_cost = 0.25;
    second.total_tokens = 1234;
    storage.save_meta(&second).unwrap();
    assert_eq!(storage.list().unwrap(), vec![second.clone(), first.clone()]);

    let loaded = storage.load(&first.id).unwrap();
    assert_eq!(loaded.meta, first);
    assert_eq!(loaded.warnings, Vec::<String>::new());
    assert_eq!(ids(&loaded.events), vec![0, 1, 2]);
    assert_eq!(loaded.events[0], {
        let mut e = run("echo 0");
        let m = e.meta_mut();
        m.id = Some(0);
        m.source = Some("agent".into());
        m.timestamp = loaded.events[0].meta().timestamp.clone();
        e
    });

    // Resume: the stream continues after the stored ids and appends to the same log.
    let log = storage.open_log(&first.id).unwrap();
    let stream = EventStream::new(loaded.events, Some(Box::new(log)));
    let added = stream.add(run("echo resumed"), EventSource::User).unwrap();
    assert_eq!(added.id(), 3);
    drop(stream);
    let reloaded = storage.load(&first.id).unwrap();
    assert_eq!(ids(&reloaded.events), vec![0, 1, 2, 3]);
    assert_eq!(reloaded.events[3], *added);

    // The same id cannot be created twice.
    match storage.create(first.clone()) {
        Err(StorageError::Exists(id)) => assert_eq!(id.as_str(), first.id),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_torn_last_line_is_skipped_and_appending_after_it_works() {
    let data = tempfile::tempdir().unwrap();
    let storage = Storage::open(data.path().to_path_buf()).unwrap();
    let meta = conversation(&storage, 2);
    let path = events_path(&storage, &meta.id);
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .unwrap();
    f.write_all(br#"{"id": 2, "timestamp": "2025-01-01T00:00:00", "source": "agent", "mess"#)
        .unwrap();
    drop(f);

    let loaded = storage.load(&meta.id).unwrap();
    assert_eq!(ids(&loaded.events), vec![0, 1]);
    assert_eq!(loaded.warnings, vec![torn_line_warning(&path)]);
    assert!(
        loaded.warnings[0].contains("ends with a partial line (crash mid-write?); it was skipped")
    );

    let stream = EventStream::new(
        loaded.events,
        Some(Box::new(storage.open_log(&meta.id).unwrap())),
    );
    stream
        .add(run("echo after the crash"), EventSource::Agent)
        .unwrap();
    drop(stream);
    let loaded = storage.load(&meta.id).unwrap();
    assert_eq!(loaded.warnings, Vec::<String>::new());
    assert_eq!(ids(&loaded.events), vec![0, 1, 2]);
}

#[test]
fn a_corrupt_middle_line_is_skipped_with_its_line_number() {
    let data = tempfile::tempdir().unwrap();
    let storage = Storage::open(data.path().to_path_buf()).unwrap();
    let meta = conversation(&storage, 3);
    let path = events_path(&storage, &meta.id);
    let text = std::fs::read_to_string(&path).unwrap();
    let mut lines: Vec<&str> = text.lines().collect();
    lines[1] = "{ this is not json";
    std::fs::write(&path, format!("{}\n{{\"neither\": 1}}\n", lines.join("\n"))).unwrap();

    let loaded = storage.load(&meta.id).unwrap();
    assert_eq!(ids(&loaded.events), vec![0, 2]);
    assert_eq!(loaded.warnings.len(), 2, "{:#?}", loaded.warnings);
    let where_ = |n: usize| format!("line {n} of event log {}", path.display());
    assert!(
        loaded.warnings[0].starts_with(&where_(2)),
        "{}",
        loaded.warnings[0]
    );
    assert!(
        loaded.warnings[1].starts_with(&where_(4)),
        "{}",
        loaded.warnings[1]
    );
    assert!(loaded.warnings[1].ends_with("it was skipped"));
}

#[test]
fn a_read_only_data_dir_is_a_clear_error() {
    use std::os::unix::fs::PermissionsExt;
    let uid = std::process::Command::new("id").arg("-u").output().unwrap();
    if String::from_utf8_lossy(&uid.stdout).trim() == "0" {
        eprintln!("skipped: root ignores directory permissions");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let ro = tmp.path().join("ro");
    std::fs::create_dir(&ro).unwrap();
    std::fs::create_dir(ro.join("conversations")).unwrap();
    std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o555)).unwrap();

    for root in [ro.clone(), ro.join("data")] {
        match Storage::open(root.clone()) {
            Err(e @ StorageError::NotWritable { .. }) => {
                let text = e.to_string();
                assert!(text.contains(&root.display().to_string()), "{text}");
                assert!(text.contains("--data-dir"), "{text}");
                assert!(text.contains("OPENHANDS_DATA_DIR"), "{text}");
            }
            other => panic!("{}: {other:?}", root.display()),
        }
    }
    std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o755)).unwrap();
}

#[test]
fn bad_conversation_ids_are_rejected_never_followed() {
    let data = tempfile::tempdir().unwrap();
    let storage = Storage::open(data.path().join("data")).unwrap();
    // A real conversation outside `conversations/` that a traversal would reach.
    std::fs::create_dir_all(data.path().join("data/x")).unwrap();
    for bad in ["../x", "..", "/etc", "a/b", "ABC", "", "x"] {
        assert!(
            matches!(storage.load(bad), Err(StorageError::BadId(_))),
            "{bad:?}"
        );
        assert!(
            matches!(storage.open_log(bad), Err(StorageError::BadId(_))),
            "{bad:?}"
        );
    }
    let mut meta = new_meta(Path::new("/w"));
    meta.id = "../../escape".into();
    assert!(matches!(
        storage.create(meta.clone()),
        Err(StorageError::BadId(_))
    ));
    assert!(matches!(
        storage.save_meta(&meta),
        Err(StorageError::BadId(_))
    ));
    assert!(!data.path().join("escape").exists());
    match storage.load("abc123") {
        Err(e @ StorageError::NotFound { .. }) => {
            assert!(e.to_string().contains("no conversation abc123"), "{e}")
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn unreadable_metadata_is_skipped_by_list() {
    let data = tempfile::tempdir().unwrap();
    let storage = Storage::open(data.path().to_path_buf()).unwrap();
    let good = conversation(&storage, 1);
    let bad = conversation(&storage, 1);
    let dir = data.path().join("conversations").join(&bad.id);
    std::fs::write(dir.join("meta.json"), "{ torn").unwrap();
    std::fs::create_dir(data.path().join("conversations/not-an-id!")).unwrap();
    assert_eq!(storage.list().unwrap(), vec![good]);
    match storage.load(&bad.id) {
        Err(e @ StorageError::BadMeta { .. }) => assert!(e.to_string().contains("meta.json")),
        other => panic!("{other:?}"),
    }
}

#[test]
fn ten_thousand_events_load_quickly() {
    let data = tempfile::tempdir().unwrap();
    let storage = Storage::open(data.path().to_path_buf()).unwrap();
    let meta = conversation(&storage, 10_000);
    let started = Instant::now();
    let loaded = storage.load(&meta.id).unwrap();
    let elapsed = started.elapsed();
    let size = std::fs::metadata(events_path(&storage, &meta.id))
        .unwrap()
        .len();
    eprintln!(
        "loaded 10,000 events ({} KiB) in {elapsed:?} ({} build)",
        size / 1024,
        if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        }
    );
    assert_eq!(loaded.events.len(), 10_000);
    assert_eq!(loaded.events.last().map(Event::id), Some(9_999));
    assert!(loaded.warnings.is_empty());
    // Release loads in a few ms; the bound leaves room for debug builds on a busy machine.
    assert!(elapsed.as_secs() < 5, "{elapsed:?}");
}

#[test]
fn a_busy_conversation_whose_process_died_reads_interrupted() {
    let data = tempfile::tempdir().unwrap();
    let storage = Storage::open(data.path().to_path_buf()).unwrap();
    let mut dead = conversation(&storage, 1);
    let mut child = std::process::Command::new("true").spawn().unwrap();
    dead.owner = Some(ProcessOwner {
        pid: child.id(),
        start: 0,
    });
    child.wait().unwrap();
    dead.state = "running".into();
    storage.save_meta(&dead).unwrap();
    // Busy and owned by this live process: left alone, and not "running elsewhere".
    let mut live = conversation(&storage, 1);
    live.state = "running".into();
    storage.save_meta(&live).unwrap();
    // Older metadata without an owner, left `loading` by a crash.
    let mut legacy = conversation(&storage, 1);
    legacy.owner = None;
    storage.save_meta(&legacy).unwrap();
    // Idle states are never touched.
    let mut idle = conversation(&storage, 1);
    idle.owner = None;
    idle.state = "awaiting_user_input".into();
    storage.save_meta(&idle).unwrap();

    let state = |id: &str| storage.load(id).unwrap().meta.state;
    assert_eq!(state(&dead.id), INTERRUPTED);
    assert_eq!(state(&live.id), "running");
    assert!(!storage.load(&live.id).unwrap().meta.is_running_elsewhere());
    assert_eq!(state(&legacy.id), INTERRUPTED);
    assert_eq!(state(&idle.id), "awaiting_user_input");
    // Written back: a list after the load shows the same, and the owner is gone.
    let listed = storage.list().unwrap();
    let dead_meta = listed.iter().find(|m| m.id == dead.id).unwrap();
    assert_eq!(
        (dead_meta.state.as_str(), dead_meta.owner),
        (INTERRUPTED, None)
    );
}
