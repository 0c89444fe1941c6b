//! Integration tests: scripted_llm.
