//! Integration tests of the bash area.

#[allow(unused_imports)]
use super::common::*;
