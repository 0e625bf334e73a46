//! Printing through the shim's console hypercall (it prefixes the cell name).

pub fn print(args: core::fmt::Arguments) {
    crate::shim_calls::console_write("", args);
}

#[macro_export]
macro_rules! say {
    ($($t:tt)*) => { $crate::console::print(format_args!($($t)*)) };
}
