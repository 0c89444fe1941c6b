//! Conversation storage: one directory per conversation with an append-only JSONL event log and metadata.
