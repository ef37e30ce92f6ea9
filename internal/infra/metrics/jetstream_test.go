package metrics

import (
	"testing"

	"github.com/invoiced/invoiced/events"
	"github.com/invoiced/invoiced/internal/contract/webhook"
)

func TestKindOf(t *testing.T) {
	const id = "ffbc3520-abda-59e5-8c6c-731079384908"
	tests := []struct{ subject, want string }{
		{events.Subject(events.DefaultAccount, id, events.InvoiceRequested), "invoice_requested"},
		{events.Subject(events.DefaultAccount, id, events.InvoiceProcessed), "invoice_processed"},
		{events.Subject(events.DefaultAccount, id, events.InvoiceFailed), "invoice_failed"},
		{webhook.TaskSubject("sub", "del"), "webhook_task"},
		{webhook.ManualTaskSubject("sub", "del"), "webhook_task_manual"},
		{webhook.RetryTaskSubject("sub", "del"), "webhook_task_retry"},
		{webhook.ScheduleSubject("sub", "del"), "webhook_task_schedule"},
		{"$KV.webhook_deliveries.x", "other"},
		{"invoices.not-an-id.shipped", "other"},
	}
	for _, tt := range tests {
		t.Run(tt.subject, func(t *testing.T) {
			if got := kindOf(tt.subject); got != tt.want {
				t.Errorf("kindOf(%q) = %q, want %q", tt.subject, got, tt.want)
			}
		})
	}
}
