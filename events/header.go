package events

// HeaderRequestID is the message header that carries the ID of the HTTP
// request an event stems from, from the request's InvoiceRequested to its
// outcome and on to the webhook tasks, so one invoice can be followed
// through every log. It is absent from events no request caused.
const HeaderRequestID = "Invoiced-Request-Id"
