use mcp_runtime::prelude::*;

#[derive(Default)]
struct Weather {
    city: String,
}

impl Weather {
    /// A forecast (an associated function: it names `Self`).
    #[tool]
    fn forecast(days: u8) -> String {
        let here = Self::default();
        format!("{days} days of sun in {}", here.city)
    }
}

fn main() {}
