//! Reading a QR code from a photo or screenshot an employer uploads to `/verify`, within
//! bounds an upload cannot push the node past.
//!
//! A compressed image says how large it is in its header; its pixels cost memory only when
//! decoded. A 470 KB PNG can claim 22000×22000 pixels (484 MB as grey, 1.9 GB as RGBA). So
//! the header is read first and an image of more than [`MAX_PIXELS`] pixels (or a side
//! longer than [`MAX_SIDE`]) is refused before any pixel is decoded; the decoder's own
//! allocations are capped by [`MAX_DECODE_BYTES`] (`image::Limits`); an image larger than
//! needed to find a code is scaled down to fit [`SCAN_SIDE`] before the search, so the QR
//! search never works on more than 4.2 megapixels. Decoding runs on a blocking thread,
//! never a server thread, and at most [`CONCURRENT_DECODES`] at once: an upload that finds
//! them all busy is refused at once (503), not queued.

use std::io::Cursor;

use image::{DynamicImage, ImageFormat, ImageReader, Limits};
use tokio::sync::Semaphore;

/// The most pixels an uploaded image may have: a 50-megapixel phone photo (8160×6120) is
/// the largest a phone takes; screenshots are far smaller.
pub const MAX_PIXELS: u64 = 50_000_000;

/// The longest side an uploaded image may have (a panorama of fewer than `MAX_PIXELS`
/// pixels is still no photo of a QR code beyond this).
pub const MAX_SIDE: u32 = 16_384;

/// The most the image decoder may allocate for one image: a `MAX_PIXELS` photo in 8-bit
/// RGB (what a JPEG decodes to) with room to spare. A larger decode (16-bit or RGBA
/// samples of a very large PNG) is refused as too large.
pub const MAX_DECODE_BYTES: u64 = 160 * 1024 * 1024;

/// Images with a longer side are scaled down to fit a square of this side before the QR
/// search: a code that fills a tenth of a phone photo's width still has 2–5 pixels a
/// module then, and the search's memory and time stay bounded.
pub const SCAN_SIDE: u32 = 2048;

/// Uploaded images decoded at once, node-wide (decoding is CPU-bound, and each may hold up
/// to `MAX_DECODE_BYTES`).
pub const CONCURRENT_DECODES: usize = 2;

/// The decoding slots, node-wide.
static DECODING: Semaphore = Semaphore::const_new(CONCURRENT_DECODES);

/// Why no QR code text was read from an upload. Each has a stable code, shown on the page.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QrError {
    /// Neither PNG nor JPEG.
    #[error("the image is neither PNG nor JPEG")]
    Unsupported,
    /// More pixels (or a longer side) than the node decodes, or a decode that needs more
    /// memory than it allows.
    #[error("the image is too large: {0}")]
    TooLarge(String),
    /// A PNG or JPEG that cannot be decoded.
    #[error("the image could not be read: {0}")]
    Unreadable(String),
    /// Decoded, but no QR code found in it.
    #[error("no QR code found in the image")]
    NotFound,
    /// A QR code found, but its contents could not be decoded.
    #[error("the QR code could not be decoded: {0}")]
    Undecodable(String),
    /// Every decoding slot is taken: try again in a moment.
    #[error("the node is decoding other images; try again in a moment")]
    Busy,
}

impl QrError {
    /// The stable code of the refusal.
    pub fn code(&self) -> &'static str {
        match self {
            QrError::Unsupported => "qr_image_unsupported",
            QrError::TooLarge(_) => "qr_image_too_large",
            QrError::Unreadable(_) => "qr_image_unreadable",
            QrError::NotFound => "qr_not_found",
            QrError::Undecodable(_) => "qr_undecodable",
            QrError::Busy => "qr_decoder_busy",
        }
    }

    /// What the employer is told, in Chinese (the English is the error's own text).
    pub fn message_zh(&self) -> String {
        match self {
            QrError::Unsupported => "图片不是 PNG 或 JPEG 格式。".to_owned(),
            QrError::TooLarge(detail) => format!(
                "图片过大（{detail}）：请上传不超过 {} 万像素的照片或截图。",
                MAX_PIXELS / 10_000
            ),
            QrError::Unreadable(detail) => format!("无法读取图片：{detail}"),
            QrError::NotFound => "图片中没有找到二维码。".to_owned(),
            QrError::Undecodable(detail) => format!("二维码无法解码：{detail}"),
            QrError::Busy => "节点正在处理其他图片，请稍后再试。".to_owned(),
        }
    }
}

/// The decoder's limits: sides and allocations.
fn limits(sides: bool) -> Limits {
    let mut limits = Limits::default();
    if sides {
        limits.max_image_width = Some(MAX_SIDE);
        limits.max_image_height = Some(MAX_SIDE);
    }
    limits.max_alloc = Some(MAX_DECODE_BYTES);
    limits
}

fn reader(bytes: &[u8], format: ImageFormat, sides: bool) -> ImageReader<Cursor<&[u8]>> {
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    reader.limits(limits(sides));
    reader
}

fn read_error(error: image::ImageError) -> QrError {
    match error {
        image::ImageError::Limits(limit) => QrError::TooLarge(limit.to_string()),
        image::ImageError::Unsupported(_) => QrError::Unsupported,
        error => QrError::Unreadable(error.to_string()),
    }
}

/// The dimensions an image's header claims, read before anything else of it. A PNG's are in
/// its first chunk, IHDR, at a fixed place; a JPEG's in its frame header, which the decoder
/// finds without decoding any pixel.
fn dimensions(bytes: &[u8], format: ImageFormat) -> Result<(u32, u32), QrError> {
    if format == ImageFormat::Png {
        let field = |at: usize| {
            bytes
                .get(at..at + 4)
                .and_then(|field| <[u8; 4]>::try_from(field).ok())
                .map(u32::from_be_bytes)
        };
        return match (bytes.get(12..16), field(16), field(20)) {
            (Some(b"IHDR"), Some(width), Some(height)) => Ok((width, height)),
            _ => Err(QrError::Unreadable("the PNG has no IHDR header".to_owned())),
        };
    }
    reader(bytes, format, false)
        .into_dimensions()
        .map_err(read_error)
}

/// Refuses dimensions beyond [`MAX_SIDE`] or [`MAX_PIXELS`].
fn check_dimensions(width: u32, height: u32) -> Result<(), QrError> {
    let pixels = u64::from(width) * u64::from(height);
    if width > MAX_SIDE || height > MAX_SIDE || pixels > MAX_PIXELS {
        return Err(QrError::TooLarge(format!(
            "{width}×{height} pixels; at most {MAX_PIXELS} pixels and {MAX_SIDE} a side"
        )));
    }
    Ok(())
}

/// The text of the first QR code in a PNG or JPEG image, decoded here and now (blocking;
/// see [`decode`] for the server's way). The image's header is read before its pixels, and
/// nothing beyond the limits of this module is decoded.
///
/// # Errors
/// [`QrError`] for an image that is not PNG or JPEG, too large, unreadable, or holds no
/// readable code.
pub fn decode_blocking(bytes: &[u8]) -> Result<String, QrError> {
    let format = image::guess_format(bytes).map_err(|_| QrError::Unsupported)?;
    if !matches!(format, ImageFormat::Png | ImageFormat::Jpeg) {
        return Err(QrError::Unsupported);
    }
    // The third-party decoders see bytes from anyone: a panic in one is an unreadable
    // image, not a failed request.
    let decoded = std::panic::catch_unwind(|| {
        let (width, height) = dimensions(bytes, format)?;
        check_dimensions(width, height)?;
        let picture = reader(bytes, format, true).decode().map_err(read_error)?;
        Ok(scan_image(picture))
    })
    .unwrap_or_else(|_| Err(QrError::Unreadable("the decoder failed".to_owned())))?;
    find_code(&decoded)
}

/// The picture the QR search works on: grey, and no side longer than [`SCAN_SIDE`].
fn scan_image(picture: DynamicImage) -> image::GrayImage {
    let picture = if picture.width() > SCAN_SIDE || picture.height() > SCAN_SIDE {
        picture.thumbnail(SCAN_SIDE, SCAN_SIDE)
    } else {
        picture
    };
    picture.into_luma8()
}

/// The text of the first QR code rqrr finds in `picture`.
fn find_code(picture: &image::GrayImage) -> Result<String, QrError> {
    let (width, height) = (picture.width() as usize, picture.height() as usize);
    let search = std::panic::catch_unwind(|| {
        let mut prepared = rqrr::PreparedImage::prepare_from_greyscale(width, height, |x, y| {
            picture.get_pixel(x as u32, y as u32).0[0]
        });
        let grids = prepared.detect_grids();
        let grid = grids.first().ok_or(QrError::NotFound)?;
        grid.decode()
            .map(|(_, content)| content)
            .map_err(|error| QrError::Undecodable(error.to_string()))
    });
    search.unwrap_or_else(|_| Err(QrError::Undecodable("the QR search failed".to_owned())))
}

/// Decodes an uploaded image's QR code on a blocking thread, in one of the node's
/// [`CONCURRENT_DECODES`] decoding slots; [`QrError::Busy`] at once when none is free.
///
/// # Errors
/// As [`decode_blocking`], and [`QrError::Busy`].
pub async fn decode(bytes: Vec<u8>) -> Result<String, QrError> {
    let slot = DECODING.try_acquire().map_err(|_| QrError::Busy)?;
    // The slot moves with the work: a request cut off by its timeout does not free it
    // while its decode still runs.
    let decoding = tokio::task::spawn_blocking(move || {
        let _slot = slot;
        decode_blocking(&bytes)
    });
    decoding
        .await
        .unwrap_or_else(|_| Err(QrError::Unreadable("the decoder failed".to_owned())))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A QR code drawn as a PNG, `scale` pixels per module, in the middle of a white
    /// picture `side` pixels wide and high.
    pub(crate) fn qr_picture(text: &str, scale: u32, side: u32) -> image::GrayImage {
        let code = qrcode::QrCode::new(text.as_bytes()).expect("encodes");
        let modules = code.width() as u32;
        let colors = code.to_colors();
        let size = (modules + 8) * scale;
        let offset = (side.max(size) - size) / 2;
        image::GrayImage::from_fn(side.max(size), side.max(size), |x, y| {
            let inside = |v: u32| v >= offset + 4 * scale && v < offset + (modules + 4) * scale;
            let dark = inside(x) && inside(y) && {
                let (mx, my) = (
                    (x - offset - 4 * scale) / scale,
                    (y - offset - 4 * scale) / scale,
                );
                colors[(my * modules + mx) as usize] == qrcode::Color::Dark
            };
            image::Luma([if dark { 0 } else { 255 }])
        })
    }

    fn encode(picture: &image::GrayImage, format: ImageFormat) -> Vec<u8> {
        let mut bytes = Vec::new();
        picture
            .write_to(&mut Cursor::new(&mut bytes), format)
            .expect("encodes");
        bytes
    }

    const LINK: &str =
        "http://127.0.0.1:8080/verify?credential=urn:uuid:01a2190c-8aa8-76c6-8eca-d6522d13639e";

    #[test]
    fn a_screenshot_and_a_large_photo_are_read() {
        let screenshot = encode(&qr_picture(LINK, 4, 0), ImageFormat::Png);
        assert_eq!(decode_blocking(&screenshot).as_deref(), Ok(LINK));
        // A 12-megapixel photo (scaled down before the search) with the code in its middle.
        let photo = encode(&qr_picture(LINK, 12, 3464), ImageFormat::Jpeg);
        assert_eq!(decode_blocking(&photo).as_deref(), Ok(LINK));
    }

    /// A PNG header (signature and IHDR) claiming `width`×`height` 8-bit grey pixels.
    fn png_header(width: u32, height: u32) -> Vec<u8> {
        let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
        let mut ihdr = b"IHDR".to_vec();
        ihdr.extend_from_slice(&width.to_be_bytes());
        ihdr.extend_from_slice(&height.to_be_bytes());
        ihdr.extend_from_slice(&[8, 0, 0, 0, 0]);
        png.extend_from_slice(&13u32.to_be_bytes());
        png.extend_from_slice(&ihdr);
        let mut crc = flate2::Crc::new();
        crc.update(&ihdr);
        png.extend_from_slice(&crc.sum().to_be_bytes());
        png
    }

    #[test]
    fn too_many_pixels_are_refused_from_the_header() {
        for (width, height) in [(22_000, 22_000), (8000, 8000), (20_000, 100)] {
            let refused = decode_blocking(&png_header(width, height));
            assert!(
                matches!(&refused, Err(QrError::TooLarge(detail)) if detail.contains(&width.to_string())),
                "{width}×{height}: {refused:?}"
            );
        }
        // Within the limits, the missing pixel data is the problem.
        assert!(matches!(
            decode_blocking(&png_header(6000, 6000)),
            Err(QrError::Unreadable(_))
        ));
    }

    #[test]
    fn other_inputs_are_errors_with_their_codes() {
        assert_eq!(decode_blocking(b"not an image"), Err(QrError::Unsupported));
        assert_eq!(decode_blocking(b"GIF89a"), Err(QrError::Unsupported));
        let blank = encode(
            &image::GrayImage::from_pixel(64, 64, image::Luma([255])),
            ImageFormat::Png,
        );
        assert_eq!(decode_blocking(&blank), Err(QrError::NotFound));
        assert_eq!(QrError::NotFound.code(), "qr_not_found");
        assert_eq!(
            QrError::TooLarge(String::new()).code(),
            "qr_image_too_large"
        );
    }

    #[tokio::test]
    async fn decoding_is_refused_while_every_slot_is_taken() {
        let taken = DECODING
            .acquire_many(CONCURRENT_DECODES as u32)
            .await
            .expect("the slots");
        let screenshot = encode(&qr_picture(LINK, 4, 0), ImageFormat::Png);
        assert_eq!(decode(screenshot.clone()).await, Err(QrError::Busy));
        drop(taken);
        assert_eq!(decode(screenshot).await.as_deref(), Ok(LINK));
    }
}
