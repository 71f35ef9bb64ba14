/*
 * The one answer every peer gives, byte for byte the one of pooled's
 * hello module: bench.sh checks each body through nginx before it
 * measures, so they must not drift apart.
 */
#define HELLO_RESPONSE \
	"Status: 200 OK\r\n" \
	"Content-Type: text/plain\r\n" \
	"\r\n" \
	"Hello, world\n"
