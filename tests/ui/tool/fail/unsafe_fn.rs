use mcp_runtime::prelude::*;

/// Read a byte at an address.
#[tool]
unsafe fn peek(address: usize) -> u8 {
    address as u8
}

fn main() {}
