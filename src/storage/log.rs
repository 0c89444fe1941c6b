//! The append-only JSONL event log of one conversation: one event per line, each written whole by one
//! `write` call, read back tolerantly (a line torn by a crash is skipped, then cut off before appending).

use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use crate::events::{Event, EventSink};

/// Appends events to `events.jsonl`; the [`EventSink`] of a conversation's stream.
#[derive(Debug)]
pub struct ConversationLog {
    path: PathBuf,
    file: File,
}

impl ConversationLog {
    /// Opens `path` for appending, creating it; a partial last line is cut off first, and a complete
    /// event missing only its newline gets one, so that the next event starts on a line of its own.
    pub(crate) fn open(path: &Path) -> io::Result<Self> {
        let mut file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(path)?;
        repair_tail(&mut file, path)?;
        Ok(Self {
            path: path.to_path_buf(),
            file,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl EventSink for ConversationLog {
    fn append(&mut self, event: &Event) -> io::Result<()> {
        let mut line = serde_json::to_string(&event.to_value())?;
        line.push('\n');
        // One write of the whole line: a crash leaves at most one partial line, at the end.
        self.file.write_all(line.as_bytes())?;
        self.file.flush()
    }
}

/// The warning for a log whose last line was cut short.
pub fn torn_line_warning(path: &Path) -> String {
    format!(
        "event log {} ends with a partial line (crash mid-write?); it was skipped",
        path.display()
    )
}

/// Reads every event of a log; bad lines are skipped and described in the returned warnings.
pub(crate) fn read_events(path: &Path) -> io::Result<(Vec<Event>, Vec<String>)> {
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok((Vec::new(), Vec::new())),
        Err(e) => return Err(e),
    };
    let mut reader = BufReader::with_capacity(256 * 1024, file);
    let mut events = Vec::new();
    let mut warnings = Vec::new();
    let mut buf = Vec::new();
    let mut line_no = 0usize;
    loop {
        buf.clear();
        if reader.read_until(b'\n', &mut buf)? == 0 {
            break;
        }
        line_no += 1;
        let complete = buf.last() == Some(&b'\n');
        match parse_line(&buf) {
            Ok(Some(event)) => events.push(event),
            Ok(None) => {}
            Err(_) if !complete => warnings.push(torn_line_warning(path)),
            Err(why) => warnings.push(format!(
                "line {line_no} of event log {} is not a valid event ({why}); it was skipped",
                path.display()
            )),
        }
    }
    Ok((events, warnings))
}

/// `Ok(None)` for a blank line.
fn parse_line(bytes: &[u8]) -> Result<Option<Event>, String> {
    let text = std::str::from_utf8(bytes).map_err(|e| format!("not UTF-8: {e}"))?;
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    let value: serde_json::Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
    Event::from_value(&value).map(Some)
}

/// Makes the file end with a newline: cuts an unparsable unterminated tail, terminates a parsable one.
fn repair_tail(file: &mut File, path: &Path) -> io::Result<()> {
    let len = file.metadata()?.len();
    if len == 0 {
        return Ok(());
    }
    // Find the start of the last line, reading backwards in chunks.
    let mut end = len;
    let mut tail = Vec::new();
    let last_newline = loop {
        let start = end.saturating_sub(64 * 1024);
        let mut chunk = vec![0u8; usize::try_from(end - start).unwrap_or(0)];
        file.seek(SeekFrom::Start(start))?;
        file.read_exact(&mut chunk)?;
        if end == len && chunk.last() == Some(&b'\n') {
            return Ok(());
        }
        if let Some(i) = chunk.iter().rposition(|&b| b == b'\n') {
            chunk.drain(..=i);
            chunk.append(&mut tail);
            tail = chunk;
            break Some(start + i as u64);
        }
        chunk.append(&mut tail);
        tail = chunk;
        if start == 0 {
            break None;
        }
        end = start;
    };
    if matches!(parse_line(&tail), Ok(Some(_))) {
        // A whole event that lacks only its newline (edited by hand): keep it.
        file.write_all(b"\n")?;
        return Ok(());
    }
    let keep = last_newline.map_or(0, |i| i + 1);
    tracing::warn!(
        "{}; cutting the log back to its last complete line ({} bytes dropped)",
        torn_line_warning(path),
        len - keep
    );
    file.set_len(keep)
}

#[cfg(test)]
mod tests {
    use super::*;
    use openhands_runtime_api::{Action, ActionEvent, CmdRunAction};

    fn event(id: i64) -> Event {
        let mut e = Event::Action(ActionEvent::new(Action::Run(CmdRunAction::new(format!(
            "echo {id}"
        )))));
        e.meta_mut().id = Some(id);
        e
    }

    fn ids(path: &Path) -> (Vec<i64>, Vec<String>) {
        let (events, warnings) = read_events(path).unwrap();
        (events.iter().map(Event::id).collect(), warnings)
    }

    #[test]
    fn torn_tails_are_cut_and_whole_unterminated_events_kept() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("events.jsonl");
        let mut log = ConversationLog::open(&path).unwrap();
        log.append(&event(0)).unwrap();
        drop(log);
        let mut text = std::fs::read_to_string(&path).unwrap();
        std::fs::write(&path, format!("{text}{{\"id\": 1, \"act")).unwrap();
        assert_eq!(ids(&path), (vec![0], vec![torn_line_warning(&path)]));

        let mut log = ConversationLog::open(&path).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), text);
        log.append(&event(1)).unwrap();
        assert_eq!(ids(&path), (vec![0, 1], vec![]));

        // A complete event without its newline is terminated, not dropped.
        text = std::fs::read_to_string(&path).unwrap();
        std::fs::write(&path, text.trim_end()).unwrap();
        let mut log = ConversationLog::open(&path).unwrap();
        log.append(&event(2)).unwrap();
        assert_eq!(ids(&path), (vec![0, 1, 2], vec![]));
    }

    #[test]
    fn a_log_that_is_one_partial_line_becomes_empty() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("events.jsonl");
        std::fs::write(&path, vec![0u8; 100]).unwrap();
        assert_eq!(ids(&path).1, vec![torn_line_warning(&path)]);
        ConversationLog::open(&path).unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().len(), 0);
    }

    #[test]
    fn a_long_torn_line_is_found_across_chunks() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("events.jsonl");
        let mut log = ConversationLog::open(&path).unwrap();
        log.append(&event(0)).unwrap();
        let keep = std::fs::metadata(&path).unwrap().len();
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(format!("{{\"x\": \"{}", "a".repeat(200_000)).as_bytes())
            .unwrap();
        ConversationLog::open(&path).unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().len(), keep);
    }
}
