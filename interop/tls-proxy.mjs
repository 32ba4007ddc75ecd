// A TLS front for a registry node on localhost, for the W3C suites (which dereference
// status lists and unwrap presentations over https only). Node.js's own modules only.
//
//   node interop/tls-proxy.mjs CERT KEY LISTEN_PORT NODE_PORT
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';

const [certFile, keyFile, listenPort, nodePort] = process.argv.slice(2);
if(!nodePort) {
  console.error('usage: node tls-proxy.mjs CERT KEY LISTEN_PORT NODE_PORT');
  process.exit(2);
}
const options = {cert: fs.readFileSync(certFile), key: fs.readFileSync(keyFile)};
https.createServer(options, (request, response) => {
  const upstream = http.request({
    host: '127.0.0.1',
    port: Number(nodePort),
    method: request.method,
    path: request.url,
    headers: request.headers
  }, answer => {
    response.writeHead(answer.statusCode, answer.headers);
    answer.pipe(response);
  });
  upstream.on('error', error => {
    response.writeHead(502, {'content-type': 'text/plain'});
    response.end(`registry node unreachable: ${error.message}\n`);
  });
  request.pipe(upstream);
}).listen(Number(listenPort), '127.0.0.1', () => {
  console.log(`tls-proxy: https://localhost:${listenPort} -> http://127.0.0.1:${nodePort}`);
});
