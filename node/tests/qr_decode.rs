//! Property tests of the `/verify` page's QR decoding (issue 19): arbitrary bytes, and PNG
//! and JPEG headers with arbitrary fields around arbitrary data, never panic the decoder,
//! never make it use more memory than its limits allow, and every image whose header
//! (a PNG's IHDR, a well-formed JPEG frame header) claims more than the pixel limits is
//! refused as too large.
//!
//! Its own test binary with one test, because it measures the process's peak resident
//! memory around each decode (`VmHWM`, reset through `/proc/self/clear_refs`).

use proptest::prelude::*;
use registry_node::console::qr::{
    MAX_DECODE_BYTES, MAX_PIXELS, MAX_SIDE, QrError, decode_blocking,
};

/// What one decode may hold beyond [`MAX_DECODE_BYTES`]: the JPEG decoder's copy of its
/// input, the scaled-down picture the QR search works on, and the search's own buffers.
const SLACK_BYTES: u64 = 64 * 1024 * 1024;

/// A line of this process's `/proc/self/status`, in bytes.
fn status_bytes(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    status
        .lines()
        .find_map(|line| {
            let value = line.strip_prefix(field)?.strip_prefix(':')?;
            value
                .trim()
                .trim_end_matches("kB")
                .trim()
                .parse::<u64>()
                .ok()
        })
        .map(|kb| kb * 1024)
        .expect("the field")
}

/// How far `work` raises the process's resident memory above where it was before, at its
/// peak.
fn peak_growth<T>(work: impl FnOnce() -> T) -> (T, u64) {
    // One measurement at a time: the tests of this binary run on parallel threads.
    static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _alone = ONE_AT_A_TIME
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    // Writing 5 resets the peak (VmHWM) to the resident size now (Linux ≥ 4.0).
    std::fs::write("/proc/self/clear_refs", "5").expect("resetting VmHWM");
    let before = status_bytes("VmRSS");
    let result = work();
    let peak = status_bytes("VmHWM");
    (result, peak.saturating_sub(before))
}

fn png_chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
    let mut chunk = Vec::with_capacity(data.len() + 12);
    chunk.extend_from_slice(&u32::try_from(data.len()).unwrap_or(0).to_be_bytes());
    chunk.extend_from_slice(kind);
    chunk.extend_from_slice(data);
    let mut crc = flate2::Crc::new();
    crc.update(kind);
    crc.update(data);
    chunk.extend_from_slice(&crc.sum().to_be_bytes());
    chunk
}

/// A PNG: its signature, an IHDR with these fields, an IDAT holding `data` (compressed
/// when `deflate`, as it is), IEND.
fn png(ihdr: (u32, u32, u8, u8, u8, u8, u8), data: &[u8], deflate: bool) -> Vec<u8> {
    let (width, height, depth, colour, compression, filter, interlace) = ihdr;
    let mut header = Vec::with_capacity(13);
    header.extend_from_slice(&width.to_be_bytes());
    header.extend_from_slice(&height.to_be_bytes());
    header.extend_from_slice(&[depth, colour, compression, filter, interlace]);
    let idat = if deflate {
        use std::io::Write;
        let mut encoder = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
        encoder.write_all(data).expect("compress");
        encoder.finish().expect("compress")
    } else {
        data.to_vec()
    };
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    png.extend(png_chunk(b"IHDR", &header));
    png.extend(png_chunk(b"IDAT", &idat));
    png.extend(png_chunk(b"IEND", &[]));
    png
}

/// A JPEG: SOI, a frame header (`sof`: 0xC0 baseline, 0xC2 progressive, …) of these
/// dimensions and components, with `scan` a scan header for its first component, then
/// `rest` and EOI.
fn jpeg(
    sof: u8,
    width: u16,
    height: u16,
    components: &[(u8, u8, u8)],
    scan: bool,
    rest: &[u8],
) -> Vec<u8> {
    let mut jpeg = vec![0xFF, 0xD8, 0xFF, sof];
    let length = 8 + 3 * components.len();
    jpeg.extend_from_slice(&u16::try_from(length).unwrap_or(0).to_be_bytes());
    jpeg.push(8);
    jpeg.extend_from_slice(&height.to_be_bytes());
    jpeg.extend_from_slice(&width.to_be_bytes());
    jpeg.push(u8::try_from(components.len()).unwrap_or(0));
    for (id, sampling, table) in components {
        jpeg.extend_from_slice(&[*id, *sampling, *table]);
    }
    if let (true, Some((id, _, _))) = (scan, components.first()) {
        jpeg.extend_from_slice(&[0xFF, 0xDA, 0, 8, 1, *id, 0, 0, 63, 0]);
    }
    jpeg.extend_from_slice(rest);
    jpeg.extend_from_slice(&[0xFF, 0xD9]);
    jpeg
}

fn too_large(width: u32, height: u32) -> bool {
    width > MAX_SIDE || height > MAX_SIDE || u64::from(width) * u64::from(height) > MAX_PIXELS
}

/// A dimension: mostly small or around the limits, sometimes anything.
fn dimension() -> impl Strategy<Value = u32> {
    prop_oneof![
        1u32..64,
        4000u32..9000,
        MAX_SIDE - 2..MAX_SIDE + 2,
        any::<u32>(),
    ]
}

#[derive(Debug, Clone)]
enum Input {
    Bytes(Vec<u8>),
    Png {
        ihdr: (u32, u32, u8, u8, u8, u8, u8),
        data: Vec<u8>,
        deflate: bool,
    },
    Jpeg {
        sof: u8,
        width: u16,
        height: u16,
        components: Vec<(u8, u8, u8)>,
        scan: bool,
        rest: Vec<u8>,
    },
}

impl Input {
    fn bytes(&self) -> Vec<u8> {
        match self {
            Input::Bytes(bytes) => bytes.clone(),
            Input::Png {
                ihdr,
                data,
                deflate,
            } => png(*ihdr, data, *deflate),
            Input::Jpeg {
                sof,
                width,
                height,
                components,
                scan,
                rest,
            } => jpeg(*sof, *width, *height, components, *scan, rest),
        }
    }

    /// The dimensions its header claims, when the decoder reads them: a PNG's IHDR always;
    /// a JPEG's frame header when it is well formed and a scan header follows.
    fn claimed(&self) -> Option<(u32, u32)> {
        match self {
            Input::Png { ihdr, .. } => Some((ihdr.0, ihdr.1)),
            Input::Jpeg {
                sof: 0xC0..=0xC2,
                width,
                height,
                components,
                scan: true,
                ..
            } if *width > 0 && *height > 0 && matches!(components.as_slice(), [(_, 0x11, _)]) => {
                Some((u32::from(*width), u32::from(*height)))
            }
            _ => None,
        }
    }
}

fn input() -> impl Strategy<Value = Input> {
    let png = (
        (
            dimension(),
            dimension(),
            prop_oneof![Just(1u8), Just(2), Just(4), Just(8), Just(16), any::<u8>()],
            prop_oneof![Just(0u8), Just(2), Just(3), Just(4), Just(6), any::<u8>()],
            prop_oneof![Just(0u8), any::<u8>()],
            prop_oneof![Just(0u8), any::<u8>()],
            prop_oneof![Just(0u8), Just(1), any::<u8>()],
        ),
        proptest::collection::vec(any::<u8>(), 0..2048),
        any::<bool>(),
    )
        .prop_map(|(ihdr, data, deflate)| Input::Png {
            ihdr,
            data,
            deflate,
        });
    let jpeg = (
        prop_oneof![Just(0xC0u8), Just(0xC1), Just(0xC2), any::<u8>()],
        prop_oneof![1u16..64, 4000u16..9000, any::<u16>()],
        prop_oneof![1u16..64, 4000u16..9000, any::<u16>()],
        prop_oneof![
            Just(vec![(1u8, 0x11u8, 0u8)]),
            proptest::collection::vec((any::<u8>(), any::<u8>(), 0u8..4), 0..5),
        ],
        any::<bool>(),
        proptest::collection::vec(any::<u8>(), 0..2048),
    )
        .prop_map(|(sof, width, height, components, scan, rest)| Input::Jpeg {
            sof,
            width,
            height,
            components,
            scan,
            rest,
        });
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..4096).prop_map(Input::Bytes),
        png,
        jpeg,
    ]
}

proptest! {
    // A fixed seed unless PROPTEST_RNG_SEED names another: `cargo test` draws the same
    // cases every run (see core/tests/support).
    #![proptest_config(ProptestConfig {
        cases: 512,
        failure_persistence: None,
        rng_seed: if std::env::var_os("PROPTEST_RNG_SEED").is_some() {
            ProptestConfig::default().rng_seed
        } else {
            proptest::test_runner::RngSeed::Fixed(0x7a1e_9e57_2026_1206)
        },
        ..ProptestConfig::default()
    })]

    #[test]
    fn any_upload_is_decoded_within_the_limits_or_refused(input in input()) {
        let bytes = input.bytes();
        let (result, growth) = peak_growth(|| decode_blocking(&bytes));
        prop_assert!(
            growth <= MAX_DECODE_BYTES + SLACK_BYTES,
            "the decode raised resident memory by {growth} bytes: {result:?}"
        );
        if let Some((width, height)) = input.claimed()
            && too_large(width, height)
        {
            prop_assert!(
                matches!(result, Err(QrError::TooLarge(_))),
                "{width}×{height}: {result:?}"
            );
        }
        // Only a real QR code gives text; nothing generated here is one.
        prop_assert!(result.is_err(), "{result:?}");
    }
}

/// A PNG of `width`×`height` black pixels of `colour` type and `depth`, its rows compressed
/// as they are made (the whole picture is never in memory here).
fn black_png(width: u32, height: u32, colour: u8, depth: u8) -> Vec<u8> {
    use std::io::Write;
    let channels: u64 = match colour {
        0 => 1,
        2 => 3,
        4 => 2,
        6 => 4,
        _ => 1,
    };
    let row_bytes = 1 + usize::try_from(u64::from(width) * channels * u64::from(depth) / 8)
        .expect("a row fits");
    let row = vec![0u8; row_bytes];
    let mut encoder = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
    for _ in 0..height {
        encoder.write_all(&row).expect("compress");
    }
    let idat = encoder.finish().expect("compress");
    let mut header = Vec::with_capacity(13);
    header.extend_from_slice(&width.to_be_bytes());
    header.extend_from_slice(&height.to_be_bytes());
    header.extend_from_slice(&[depth, colour, 0, 0, 0]);
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    png.extend(png_chunk(b"IHDR", &header));
    png.extend(png_chunk(b"IDAT", &idat));
    png.extend(png_chunk(b"IEND", &[]));
    png
}

#[test]
fn the_largest_images_allowed_stay_within_the_memory_bound() {
    // 48 megapixels of grey: decoded (48 MB), scaled down, searched.
    let grey = black_png(8000, 6000, 0, 8);
    let (result, growth) = peak_growth(|| decode_blocking(&grey));
    assert_eq!(result, Err(QrError::NotFound));
    assert!(
        growth <= MAX_DECODE_BYTES + SLACK_BYTES,
        "resident memory grew by {growth} bytes"
    );
    assert!(
        growth >= 40_000_000,
        "the measurement does not see the decode ({growth} bytes)"
    );
    // The same in 16-bit RGBA would take 384 MB: refused by the decoder's allocation cap.
    let deep = black_png(8000, 6000, 6, 16);
    let (result, growth) = peak_growth(|| decode_blocking(&deep));
    assert!(matches!(result, Err(QrError::TooLarge(_))), "{result:?}");
    assert!(
        growth <= SLACK_BYTES,
        "resident memory grew by {growth} bytes"
    );
}
