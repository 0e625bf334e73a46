//! FFI to the system libfdt, for differential tests.
