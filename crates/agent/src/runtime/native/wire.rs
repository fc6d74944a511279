//! Frames between the agent and a game's shim on its Unix socket: one tag byte, a
//! big-endian `u32` length, the payload.

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// Largest payload accepted.
pub const MAX_FRAME: usize = 1024 * 1024;
/// Largest output payload sent.
pub const OUTPUT_CHUNK: usize = 64 * 1024;

/// Shim → agent: JSON [`Hello`], first frame of every connection.
pub const HELLO: u8 = b'H';
/// Shim → agent: output bytes.
pub const OUTPUT: u8 = b'O';
/// Shim → agent: the game's main process exited (`i32` code).
pub const EXIT: u8 = b'X';
/// Shim → agent: the output pipe is closed; nothing follows.
pub const END: u8 = b'E';
/// Agent → shim: one line of console input (without newline).
pub const INPUT: u8 = b'I';
/// Agent → shim: output up to this offset (`u64`) is processed.
pub const ACK: u8 = b'A';
/// Agent → shim: the exit is handled; the shim may end.
pub const RELEASE: u8 = b'R';

/// What the shim says first.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Hello {
    /// PID of the game's main process (its process group id too).
    pub pid: u32,
    /// When it started, milliseconds since the Unix epoch.
    pub started_at_ms: i64,
    /// Output offset of the first byte that follows.
    pub offset: u64,
    /// Bytes of output dropped because nobody read them in time.
    pub dropped: u64,
}

/// Write one frame.
pub async fn write<W: AsyncWrite + Unpin>(
    out: &mut W,
    tag: u8,
    payload: &[u8],
) -> std::io::Result<()> {
    let len = u32::try_from(payload.len()).map_err(|_| std::io::Error::other("frame too large"))?;
    let mut header = [0u8; 5];
    header[0] = tag;
    header[1..].copy_from_slice(&len.to_be_bytes());
    out.write_all(&header).await?;
    out.write_all(payload).await?;
    out.flush().await
}

/// Read one frame; `None` at a clean end of stream.
pub async fn read<R: AsyncRead + Unpin>(input: &mut R) -> std::io::Result<Option<(u8, Vec<u8>)>> {
    let mut header = [0u8; 5];
    match input.read_exact(&mut header).await {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e),
    }
    let len = u32::from_be_bytes([header[1], header[2], header[3], header[4]]) as usize;
    if len > MAX_FRAME {
        return Err(std::io::Error::other("frame too large"));
    }
    let mut payload = vec![0u8; len];
    input.read_exact(&mut payload).await?;
    Ok(Some((header[0], payload)))
}

/// A `u64` payload.
pub fn u64_of(payload: &[u8]) -> Option<u64> {
    Some(u64::from_be_bytes(payload.try_into().ok()?))
}

/// An `i32` payload.
pub fn i32_of(payload: &[u8]) -> Option<i32> {
    Some(i32::from_be_bytes(payload.try_into().ok()?))
}
