// Canonical N-Quads by jsonld.js (RDFC-1.0, safe mode) of a JSON array of documents read
// on standard input: a JSON array of {"nquads": ...} or {"error": ...}, for the cross-check
// of integrity/tests/rdfc_crosscheck.rs. Contexts come only from the files named as
// URL=FILE arguments; any other context is an error, as in talent-integrity.
import fs from 'node:fs';
import jsonld from 'jsonld';

const contexts = new Map(process.argv.slice(2).map(argument => {
  const at = argument.indexOf('=');
  return [argument.slice(0, at), JSON.parse(fs.readFileSync(argument.slice(at + 1), 'utf8'))];
}));
const documentLoader = async url => {
  if(!contexts.has(url)) {
    throw new Error(`${url} is not in the local context cache`);
  }
  return {contextUrl: null, documentUrl: url, document: contexts.get(url)};
};
const documents = JSON.parse(fs.readFileSync(0, 'utf8'));
const results = [];
for(const document of documents) {
  try {
    results.push({nquads: await jsonld.canonize(document, {
      algorithm: 'RDFC-1.0', format: 'application/n-quads', safe: true, documentLoader
    })});
  } catch(error) {
    results.push({error: String(error.message)});
  }
}
process.stdout.write(JSON.stringify(results));
