//! QR decompression bomb (issue 19, item 4): a 470 KB PNG that claims 22000×22000 pixels,
//! uploaded to the public `/verify` page, cost the node about 1 GB of memory and stalled
//! it. Now the node reads the image's header first and refuses it with a stable code
//! before decoding a pixel; a real photo of a QR code is still read.

use std::io::Write;

use federation_tests::{Node, client, example_requests};

/// The CSRF token of the double-submit cookie (any value of 16 characters or more).
const CSRF: &str = "qr-bomb-test-csrf-token";

/// One PNG chunk: length, type, data, CRC.
fn png_chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
    let mut chunk = Vec::with_capacity(data.len() + 12);
    chunk.extend_from_slice(&u32::try_from(data.len()).expect("a chunk").to_be_bytes());
    chunk.extend_from_slice(kind);
    chunk.extend_from_slice(data);
    let mut crc = flate2::Crc::new();
    crc.update(kind);
    crc.update(data);
    chunk.extend_from_slice(&crc.sum().to_be_bytes());
    chunk
}

/// A PNG of `side`×`side` black 8-bit grey pixels whose rows are compressed as they are
/// made: the test never holds the picture, only its few hundred kilobytes of zlib.
fn bomb(side: u32) -> Vec<u8> {
    let row = vec![0u8; side as usize + 1];
    let mut encoder = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    for _ in 0..side {
        encoder.write_all(&row).expect("compress");
    }
    let idat = encoder.finish().expect("compress");
    let mut header = Vec::with_capacity(13);
    header.extend_from_slice(&side.to_be_bytes());
    header.extend_from_slice(&side.to_be_bytes());
    header.extend_from_slice(&[8, 0, 0, 0, 0]);
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    png.extend(png_chunk(b"IHDR", &header));
    png.extend(png_chunk(b"IDAT", &idat));
    png.extend(png_chunk(b"IEND", &[]));
    png
}

/// A phone-like photo of a QR code holding `text`: 4032×3024 pixels, grey, the code 10
/// pixels a module in the middle, as a JPEG.
fn photo_of_qr(text: &str) -> Vec<u8> {
    let code = qrcode::QrCode::new(text.as_bytes()).expect("encodes");
    let modules = code.width() as u32;
    let colors = code.to_colors();
    let (width, height, scale) = (4032u32, 3024u32, 10u32);
    let (left, top) = (
        (width - modules * scale) / 2,
        (height - modules * scale) / 2,
    );
    let picture = image::GrayImage::from_fn(width, height, |x, y| {
        let inside =
            x >= left && y >= top && x < left + modules * scale && y < top + modules * scale;
        let dark = inside && {
            let (mx, my) = ((x - left) / scale, (y - top) / scale);
            colors[(my * modules + mx) as usize] == qrcode::Color::Dark
        };
        // A grey page under uneven light rather than pure black on white.
        image::Luma([if dark {
            40
        } else {
            200 + (x * 40 / width) as u8
        }])
    });
    let mut jpeg = Vec::new();
    picture
        .write_to(
            &mut std::io::Cursor::new(&mut jpeg),
            image::ImageFormat::Jpeg,
        )
        .expect("JPEG");
    jpeg
}

/// `POST /verify` with `image` as the QR photo; returns the status and the page.
fn upload_qr(node: &Node, image: &[u8], file_name: &str, content_type: &str) -> (u16, String) {
    let boundary = "----qr-bomb-boundary-7MA4YWxkTrZu0gW";
    let mut body = Vec::with_capacity(image.len() + 512);
    write!(
        body,
        "--{boundary}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{CSRF}\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"qr\"; filename=\"{file_name}\"\r\n\
         Content-Type: {content_type}\r\n\r\n"
    )
    .expect("write");
    body.extend_from_slice(image);
    write!(body, "\r\n--{boundary}--\r\n").expect("write");
    let response = client()
        .post(node.at("/verify?lang=en"))
        .header(
            reqwest::header::CONTENT_TYPE,
            format!("multipart/form-data; boundary={boundary}"),
        )
        .header(reqwest::header::COOKIE, format!("trc_csrf={CSRF}"))
        .body(body)
        .send()
        .expect("POST /verify");
    let status = response.status().as_u16();
    (status, response.text().expect("the page"))
}

#[test]
fn a_decompression_bomb_is_refused_before_decoding_and_a_real_photo_still_reads() {
    let dir = tempfile::tempdir().expect("temp dir");
    let node = Node::start(&dir.path().join("node")).expect("node starts");
    // The page once, so what serving it costs is in the baseline.
    let page = client()
        .get(node.at("/verify"))
        .send()
        .expect("GET /verify");
    assert!(page.status().is_success());
    let before = node.status_kb("VmHWM").expect("peak memory");

    let png = bomb(22_000);
    assert!(png.len() < 1024 * 1024, "a bomb of {} bytes", png.len());
    let (status, page) = upload_qr(&node, &png, "bomb.png", "image/png");
    assert_eq!(status, 413, "{page}");
    assert!(page.contains("qr_image_too_large"), "{page}");
    assert!(page.contains("22000×22000"), "{page}");
    let growth_kb = node
        .status_kb("VmHWM")
        .expect("peak memory")
        .saturating_sub(before);
    // Decoding it would have taken 484 MB for the grey pixels alone.
    assert!(
        growth_kb < 64 * 1024,
        "the node's peak memory grew by {growth_kb} kB"
    );

    // A photo of a real credential's QR code is read, and the credential verified.
    let (_, request) = example_requests().into_iter().next().expect("an example");
    let credential = node.issue(&request);
    let id = credential["id"].as_str().expect("an id");
    let link = format!("{}/verify?credential={id}", node.url);
    let (status, page) = upload_qr(&node, &photo_of_qr(&link), "photo.jpg", "image/jpeg");
    assert_eq!(status, 200, "{page}");
    assert!(page.contains(r#"data-verified="true""#), "{page}");
    assert!(page.contains(id.trim_start_matches("urn:uuid:")), "{page}");
}
