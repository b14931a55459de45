//! The review UI: a thin layer over the library.
