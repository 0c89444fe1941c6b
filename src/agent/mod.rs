//! The CodeAct agent and its controller.
