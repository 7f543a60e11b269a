"""PyTorch reference implementations of the decoding-time interventions, on the plain `vlm.Vlm` with hooks
(not through the ABI controls). One module per API name; each has `NAME`, `Params` (paper symbols, official
defaults; None = from calibration.json), `NOOP` (parameters that reduce it to plain decoding) and
`generate(ref, image, prompt, params, decoding) -> common.Result`."""
NAMES = ["causalmm", "vhr", "var", "gift", "carve", "iaf", "lqcd", "vcd", "pai", "m3id"]
