use mcp_runtime::prelude::*;

struct Reviewer;

impl Reviewer {
    /// Ask for a review (no receiver, but still inside an `impl`).
    #[prompt]
    fn review(code: String) -> String {
        format!("Review:\n{code}")
    }
}

fn main() {}
