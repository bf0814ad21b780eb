//! The data tree (in progress).
