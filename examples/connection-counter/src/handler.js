// The request handler of a small HTTP service.
export function handleRequest(req, res) {
  res.setHeader('content-type', 'text/plain');
  res.end(`hello ${req.url}\n`);
}
