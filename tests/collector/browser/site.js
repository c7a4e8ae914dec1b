// What every page of the site runs, as a site embedding mixpanel-browser from npm would: only
// api_host points elsewhere. window.COLLECTOR ({token, apiHost}) is set by the test before any
// script runs. debug: true makes the SDK report failures with console.error, which the test
// collects; the short flush interval keeps the test fast (the default is 5 s).
mixpanel.init(window.COLLECTOR.token, {
  api_host: window.COLLECTOR.apiHost,
  batch_flush_interval_ms: 100,
  debug: true
});
mixpanel.track_pageview();
