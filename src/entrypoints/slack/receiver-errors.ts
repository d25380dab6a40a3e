import { ErrorCode, type ReceiverProcessEventErrorHandlerArgs } from '@slack/bolt';
import type { Logger } from '../../core/ports.ts';

/**
 * Listener errors never get here (the app's error handler takes them); what does is Bolt failing on the
 * request itself, i.e. a signed body that is not a Slack payload it understands. That is the sender's
 * fault: 400 and one warning, not Bolt's default 500 and an error log. An authorize failure stays 401.
 */
export function slackProcessEventErrorHandler(logger: Logger) {
  return async ({ error, response }: ReceiverProcessEventErrorHandlerArgs): Promise<boolean> => {
    if (response.headersSent) {
      logger.error({ err: error.message }, 'slack request failed after it was acknowledged');
      return false;
    }
    const unauthorized = (error as { code?: string }).code === ErrorCode.AuthorizationError;
    logger.warn({ err: error.message }, 'slack request rejected: Bolt could not process it');
    response.writeHead(unauthorized ? 401 : 400, { 'content-type': 'application/json' });
    response.end(JSON.stringify({ error: unauthorized ? 'unauthorized' : 'unusable Slack payload' }));
    return true;
  };
}
