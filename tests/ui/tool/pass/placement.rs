//! Tools in modules, with visibility, attributes and called from ordinary code.

use mcp_runtime::prelude::*;

mod math {
    use mcp_runtime::prelude::*;

    /// Multiply.
    #[tool]
    pub fn mul(a: i64, b: i64) -> i64 {
        a * b
    }

    pub(crate) mod nested {
        use mcp_runtime::tool;

        /// Square.
        #[tool(name = "square")]
        pub(crate) fn sq(a: i64) -> i64 {
            a * a
        }
    }
}

/// A tool with other attributes around it.
#[inline]
#[tool]
#[allow(clippy::needless_pass_by_value)]
#[must_use]
fn shout(text: String) -> String {
    text.to_uppercase()
}

/// Uses `mcp_runtime::tool` by path.
#[mcp_runtime::tool]
fn by_path() -> bool {
    true
}

/// A `const fn` is fine too.
#[tool]
const fn seven() -> i32 {
    7
}

struct Holder;

impl Holder {
    /// A method whose body declares a tool: a free function in a block, not an associated one.
    fn make() -> i64 {
        /// Double.
        #[tool]
        fn double(a: i64) -> i64 {
            a * 2
        }
        double(21)
    }
}

fn main() {
    assert_eq!(Holder::make(), 42);
    assert_eq!(math::mul(2, 3), 6);
    assert_eq!(math::nested::sq(4), 16);
    assert_eq!(shout("a".into()), "A");
    assert!(by_path());
    assert_eq!(seven(), 7);
}
