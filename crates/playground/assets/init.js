// Starts GraphiQL against this server's /graphql. `?query=` fills the editor; `?run=1` runs
// it once the page is up (the headless browser test uses both).
(function () {
  var params = new URLSearchParams(window.location.search);
  var fetcher = GraphiQL.createFetcher({
    url: new URL("/graphql", window.location.href).toString(),
  });
  var props = { fetcher: fetcher, defaultEditorToolsVisibility: true };
  if (params.get("query")) {
    props.query = params.get("query");
  }
  ReactDOM.createRoot(document.getElementById("graphiql")).render(
    React.createElement(GraphiQL, props)
  );
  if (params.get("run") === "1") {
    var tries = 0;
    var timer = setInterval(function () {
      var button = document.querySelector(".graphiql-execute-button");
      if (button) {
        clearInterval(timer);
        button.click();
      } else if (++tries > 200) {
        clearInterval(timer);
      }
    }, 50);
  }
})();
