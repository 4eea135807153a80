"""Request plumbing shared by the routes: body limits and off-loop parsing (``bodies``), JSON nesting depth
(``nesting``), 405s and the page mount (``methods``), 422 answers (``errors``), the OpenAPI document
(``openapi``), work cancelled when its client goes away (``disconnect``), and the REST request and response
models (``schemas``)."""
