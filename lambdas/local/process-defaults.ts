/**
 * Settings for a process that runs the platform locally (npm start, the benchmark). Imported for
 * its effect, before anything else: Powertools reads these when its logger and metrics are built,
 * which happens as soon as a handler module is imported.
 */
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
process.env.POWERTOOLS_LOG_LEVEL ??= 'WARN';
// No X-Ray daemon and no CloudWatch here: traces and metrics would only be noise on stdout.
process.env.POWERTOOLS_TRACE_ENABLED ??= 'false';
process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
