/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests for proto/rpc-frame.c: frames that are empty, oversized,
 * truncated or garbled are refused; good frames round-trip.
 */
#include <config.h>

#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "rpc-frame.h"

START_TEST(test_frame_rejects_zero_length)
{
	const uint8_t	hdr[4] = { 0, 0, 0, 0 };
	uint32_t	len = 123;

	errno = 0;
	ck_assert_int_eq(rpc_frame_check(hdr, &len), -1);
	ck_assert_int_eq(errno, EMSGSIZE);
	ck_assert_uint_eq(len, 123);
}
END_TEST

START_TEST(test_frame_rejects_oversize)
{
	const uint8_t	hdr[4] = { 0x7f, 0xff, 0xff, 0xff };
	const uint8_t	just_over[4] = { 0x00, 0x40, 0x00, 0x01 };
	const uint8_t	max[4] = { 0x00, 0x40, 0x00, 0x00 };
	uint32_t	len;

	ck_assert_int_eq(rpc_frame_check(hdr, &len), -1);
	ck_assert_int_eq(errno, EMSGSIZE);
	ck_assert_int_eq(rpc_frame_check(just_over, &len), -1);
	ck_assert_int_eq(rpc_frame_check(max, &len), 0);
	ck_assert_uint_eq(len, RPC_MAX_FRAME);
}
END_TEST

START_TEST(test_frame_roundtrip)
{
	Nbdbroker__Rpc__Envelope	 env = NBDBROKER__RPC__ENVELOPE__INIT;
	Nbdbroker__Rpc__Request		 rq = NBDBROKER__RPC__REQUEST__INIT;
	struct rpc_buf			 b = { 0 };
	RpcEnvelope			*out;

	rq.handle = 7;
	rq.type = 1;
	rq.flags = 2;
	rq.offset = 1ULL << 40;
	rq.count = 65536;
	rq.slot = 8192;
	env.id = 42;
	env.body_case = NBDBROKER__RPC__ENVELOPE__BODY_REQUEST;
	env.request = &rq;
	ck_assert_int_eq(rpc_frame_encode(&b, &env), 0);
	ck_assert_int_eq(rpc_frame_encode(&b, &env), 0);
	ck_assert_int_eq(rpc_frame_decode(&b, &out), 1);
	ck_assert_uint_eq(out->id, 42);
	ck_assert_int_eq(out->body_case, NBDBROKER__RPC__ENVELOPE__BODY_REQUEST);
	ck_assert_uint_eq(out->request->offset, 1ULL << 40);
	ck_assert_uint_eq(out->request->count, 65536);
	ck_assert_uint_eq(out->request->flags, 2);
	rpc_envelope_free(out);
	ck_assert_int_eq(rpc_frame_decode(&b, &out), 1);
	rpc_envelope_free(out);
	ck_assert_int_eq(rpc_frame_decode(&b, &out), 0);
	ck_assert_ptr_null(out);
	rpc_buf_free(&b);
}
END_TEST

START_TEST(test_frame_partial_then_complete)
{
	Nbdbroker__Rpc__Envelope	 env = NBDBROKER__RPC__ENVELOPE__INIT;
	Nbdbroker__Rpc__Log		 lg = NBDBROKER__RPC__LOG__INIT;
	struct rpc_buf			 whole = { 0 }, b = { 0 };
	RpcEnvelope			*out;
	size_t				 i;

	lg.level = 3;
	lg.message = (char *)"hello";
	env.body_case = NBDBROKER__RPC__ENVELOPE__BODY_LOG;
	env.log = &lg;
	ck_assert_int_eq(rpc_frame_encode(&whole, &env), 0);
	/* Byte by byte: nothing decodes until the last byte arrives. */
	for (i = 0; i < rpc_buf_len(&whole); i++) {
		ck_assert_int_eq(rpc_buf_reserve(&b, 1), 0);
		b.data[b.end++] = whole.data[i];
		if (i + 1 < rpc_buf_len(&whole))
			ck_assert_int_eq(rpc_frame_decode(&b, &out), 0);
	}
	ck_assert_int_eq(rpc_frame_decode(&b, &out), 1);
	ck_assert_str_eq(out->log->message, "hello");
	rpc_envelope_free(out);
	rpc_buf_free(&whole);
	rpc_buf_free(&b);
}
END_TEST

START_TEST(test_frame_rejects_garbage)
{
	/* A length of 8 followed by bytes that are not an Envelope. */
	static const uint8_t	bad[] = { 0, 0, 0, 8, 0xff, 0xff, 0xff, 0xff,
	    0xff, 0xff, 0xff, 0xff };
	/* A valid protobuf with no body set (only field 1, id = 5). */
	static const uint8_t	nobody[] = { 0, 0, 0, 2, 0x08, 0x05 };
	struct rpc_buf		b = { 0 };
	RpcEnvelope		*out;

	ck_assert_int_eq(rpc_buf_reserve(&b, sizeof(bad)), 0);
	memcpy(b.data, bad, sizeof(bad));
	b.end = sizeof(bad);
	errno = 0;
	ck_assert_int_eq(rpc_frame_decode(&b, &out), -1);
	ck_assert_int_eq(errno, EBADMSG);
	ck_assert_ptr_null(out);

	b.start = b.end = 0;
	memcpy(b.data, nobody, sizeof(nobody));
	b.end = sizeof(nobody);
	ck_assert_int_eq(rpc_frame_decode(&b, &out), -1);
	ck_assert_int_eq(errno, EBADMSG);
	rpc_buf_free(&b);
}
END_TEST

/*
 * An ExportList of n entries with one-character names, framed into b.
 * Entries are the cheapest elements a frame can carry: each costs the
 * decoder a struct and an array slot for a few bytes of frame.
 */
static void
frame_export_list(struct rpc_buf *b, size_t n)
{
	Nbdbroker__Rpc__Envelope	 env = NBDBROKER__RPC__ENVELOPE__INIT;
	Nbdbroker__Rpc__ExportList	 el = NBDBROKER__RPC__EXPORT_LIST__INIT;
	Nbdbroker__Rpc__ExportEntry	*e, **pe;
	size_t				 i;

	e = calloc(n, sizeof(*e));
	pe = calloc(n, sizeof(*pe));
	ck_assert(e != NULL && pe != NULL);
	for (i = 0; i < n; i++) {
		nbdbroker__rpc__export_entry__init(&e[i]);
		e[i].name = (char *)"x";
		pe[i] = &e[i];
	}
	el.n_exports = n;
	el.exports = pe;
	env.body_case = NBDBROKER__RPC__ENVELOPE__BODY_EXPORT_LIST;
	env.export_list = &el;
	ck_assert_int_eq(rpc_frame_encode(b, &env), 0);
	free(e);
	free(pe);
}

START_TEST(test_frame_decode_budget)
{
	struct rpc_buf	 b = { 0 };
	RpcEnvelope	*env;

	/* As many exports as the broker accepts: decodes. */
	frame_export_list(&b, 10000);
	ck_assert_int_eq(rpc_frame_decode(&b, &env), 1);
	ck_assert_uint_eq(env->export_list->n_exports, 10000);
	rpc_envelope_free(env);
	/* Under 4 MiB of frame, 700,000 entries: refused, not decoded. */
	frame_export_list(&b, 700000);
	ck_assert_uint_lt(rpc_buf_len(&b), RPC_MAX_FRAME);
	errno = 0;
	ck_assert_int_eq(rpc_frame_decode(&b, &env), -1);
	ck_assert_int_eq(errno, EOVERFLOW);
	ck_assert_ptr_null(env);
	ck_assert_uint_eq(rpc_buf_len(&b), 0);	/* the frame is consumed */
	rpc_buf_free(&b);
}
END_TEST

START_TEST(test_frame_decode_rejects_oversize_header)
{
	static const uint8_t	huge[] = { 0xff, 0xff, 0xff, 0xff, 1, 2 };
	struct rpc_buf		b = { 0 };
	RpcEnvelope		*out;

	ck_assert_int_eq(rpc_buf_reserve(&b, sizeof(huge)), 0);
	memcpy(b.data, huge, sizeof(huge));
	b.end = sizeof(huge);
	/* Refused from the header alone: nothing waits for 4 GiB. */
	ck_assert_int_eq(rpc_frame_decode(&b, &out), -1);
	ck_assert_int_eq(errno, EMSGSIZE);
	rpc_buf_free(&b);
}
END_TEST

static Suite *
rpc_frame_suite(void)
{
	Suite	*s = suite_create("rpc-frame");
	TCase	*tc = tcase_create("frame");

	tcase_add_test(tc, test_frame_rejects_zero_length);
	tcase_add_test(tc, test_frame_rejects_oversize);
	tcase_add_test(tc, test_frame_roundtrip);
	tcase_add_test(tc, test_frame_partial_then_complete);
	tcase_add_test(tc, test_frame_rejects_garbage);
	tcase_add_test(tc, test_frame_decode_rejects_oversize_header);
	tcase_add_test(tc, test_frame_decode_budget);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(rpc_frame_suite());
	int	 failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
