//! `mcp-cli`: talk to an MCP server from the command line.

fn main() {
    println!("mcp-cli");
}
