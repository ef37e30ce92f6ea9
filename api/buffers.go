package api

import "sync"

// maxPooledBuffer is the largest encoding buffer kept for reuse.
const maxPooledBuffer = 64 << 10

// encodeBuffers holds buffers for encoding requests and responses.
var encodeBuffers = sync.Pool{New: func() any {
	b := make([]byte, 0, 1024)
	return &b
}}

// getBuffer returns an empty buffer from the pool.
func getBuffer() *[]byte {
	bp := encodeBuffers.Get().(*[]byte)
	*bp = (*bp)[:0]
	return bp
}

// putBuffer returns b, grown into bp, to the pool unless it is large.
func putBuffer(bp *[]byte, b []byte) {
	if cap(b) > maxPooledBuffer {
		return
	}
	*bp = b[:0]
	encodeBuffers.Put(bp)
}
