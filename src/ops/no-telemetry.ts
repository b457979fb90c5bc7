/**
 * onnxruntime (Piper's engine, the Silero VAD) records usage events under
 * ~/.cache/Microsoft/DeveloperTools and uploads them to Microsoft unless ORT_DISABLE_TELEMETRY is
 * set. A local assistant sends nothing anywhere it was not told to, so it is off in this process
 * and in every process it starts (they inherit the environment), unless the operator set it.
 *
 * Imported first by the entrypoints: the library reads the variable when it loads.
 */
process.env['ORT_DISABLE_TELEMETRY'] ??= '1';
