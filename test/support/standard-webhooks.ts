/**
 * The Standard Webhooks spec vector: the "sign function works" test of libraries/javascript/src/webhook.test.ts
 * in standard-webhooks/standard-webhooks (REFERENCES.md section 1).
 */
export const SPEC_VECTOR = {
  secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
  id: 'msg_p5jXN8AQM9LWM0D4loKWxJek',
  timestamp: 1614265330,
  body: '{"test": 2432232314}',
  signature: 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
} as const;
