use std::rc::Rc;

use mcp_runtime::prelude::*;

/// Count slowly.
#[tool]
async fn count(n: u64) -> u64 {
    let shared = Rc::new(n);
    tokio::task::yield_now().await;
    *shared
}

fn main() {}
