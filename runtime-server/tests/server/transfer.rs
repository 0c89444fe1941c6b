//! Integration tests of the transfer area.

#[allow(unused_imports)]
use super::common::*;
