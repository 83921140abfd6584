// Korean and English. The language comes from localStorage (the person's choice),
// else from the browser; elements carry data-i18n="key" (text) or
// data-i18n-placeholder="key", and scripts call t(key, vars).

import { CONSOLE_STRINGS } from './i18n-console.js';
import { CUSTOMER_STRINGS } from './i18n-customer.js';

const KEY = 'pointcast.lang';

const STRINGS = {
  en: {
    'app.name': 'pointcast',
    'nav.customer': 'My points', 'nav.shop': 'Record shop', 'nav.admin': 'Console',
    'lang.switch': '한국어',
    'state.connecting': 'connecting', 'state.live': 'live', 'state.reconnecting': 'reconnecting', 'state.offline': 'offline',
    'auth.title': 'Log in', 'auth.member_no': 'Member number', 'auth.login': 'Login', 'auth.password': 'Password',
    'auth.submit': 'Log in', 'auth.logout': 'Log out', 'auth.signup': 'Sign up', 'auth.signup_title': 'New here? Sign up',
    'auth.name': 'Name', 'auth.phone': 'Phone', 'auth.signed_up': 'Welcome! Your member number is {no}. Use it to log in.',
    'auth.hello': 'Hello, {name}', 'auth.token': 'Or paste an API token', 'auth.use_token': 'Use token',
    'auth.staff_only': 'This console is for store owners and admins.',
    'customer.balances': 'My mileage', 'customer.no_stores': 'You have not joined a store yet.',
    'customer.join': 'Join', 'customer.joined': 'Joined {store}.', 'customer.join_title': 'Stores',
    'customer.next_coupon': '{left} points to the next coupon ({threshold})',
    'customer.coupons': 'My coupons', 'customer.no_coupons': 'No coupons yet. Collect points!',
    'customer.orders': 'My orders', 'customer.no_orders': 'No orders yet.',
    'customer.events': 'Live activity', 'customer.no_events': 'Events appear here as they happen.',
    'coupon.redeemed': 'used', 'coupon.valid': 'valid',
    'chat.title': 'Customer center', 'chat.placeholder': 'Write a message…', 'chat.send': 'Send',
    'chat.empty': 'Ask us anything: we answer here, live.', 'chat.close': 'Close conversation', 'chat.closed': 'This conversation is closed.',
    'chat.you': 'You', 'chat.staff': 'Staff',
    'shop.title': 'Albums', 'shop.store': 'Store', 'shop.buy': 'Buy', 'shop.qty': 'Qty', 'shop.in_stock': '{n} in stock',
    'shop.sold_out': 'Sold out', 'shop.bought': 'Bought {qty} × {title}.', 'shop.no_products': 'No albums yet.',
    'shop.insufficient': 'Not enough in stock: only {n} left of {title}, you asked for {qty}.',
    'shop.login_to_buy': 'Log in on the My points page to buy.', 'shop.pick_store': 'Choose a store',
    'admin.title': 'Console', 'admin.stores': 'Stores', 'admin.members': 'Members & mileage', 'admin.find': 'Find member',
    'admin.find_placeholder': 'name or number', 'admin.grant': 'Grant', 'admin.points': 'Points', 'admin.reason': 'Reason',
    'admin.audit': 'Audit trail', 'admin.audit_kind': 'Action', 'admin.audit_all': 'All', 'admin.audit_actor': 'Staff id',
    'admin.audit_from': 'From', 'admin.audit_to': 'To', 'admin.audit_show': 'Show', 'admin.audit_none': 'No actions match.',
    'audit.grant': 'Grant', 'audit.correction': 'Correction', 'audit.coupon_redeem': 'Coupon redeemed', 'audit.order_return': 'Return',
    'audit.stock_set': 'Stock set', 'audit.stock_adjust': 'Stock adjusted', 'audit.store_policy': 'Policy change', 'audit.coupon_design': 'Coupon design',
    'admin.reason_code': 'Reason code', 'admin.code.offline_purchase': 'Offline purchase', 'admin.code.promotion': 'Promotion',
    'admin.code.compensation': 'Compensation', 'admin.code.correction': 'Correction (may be negative)',
    'admin.granted': 'Granted {points} points to {name}: balance {balance}.', 'admin.coupons_issued': '{n} coupon(s) issued.',
    'admin.redeem': 'Redeem coupon', 'admin.coupon_id': 'Coupon id', 'admin.redeemed': 'Coupon {id} redeemed.',
    'admin.products': 'Products', 'admin.add_product': 'Add album', 'admin.title_f': 'Title', 'admin.artist': 'Artist', 'admin.price': 'Price',
    'admin.stock': 'Stock', 'admin.set_stock': 'Set', 'admin.stock_set': 'Stock of {title} set to {n}.', 'admin.low': 'low',
    'admin.inventory': 'Inventory', 'admin.conversations': 'Conversations', 'admin.reply': 'Reply', 'admin.no_conversations': 'No open conversations.',
    'admin.announce': 'Announcement', 'admin.announce_all': 'Everyone', 'admin.announce_store': 'Members of the store', 'admin.send': 'Send',
    'admin.announced': 'Announcement sent.', 'admin.jobs': 'Jobs and schedules', 'admin.jobs_missing': 'The jobs API is not available on this server yet.',
    'admin.connections': 'Connected now', 'admin.refresh': 'Refresh', 'admin.no_connections': 'Nobody is connected.',
    'admin.events': 'Live events', 'admin.not_found': 'No member found.', 'admin.run': 'Run now', 'admin.schedule': 'Schedule', 'admin.save': 'Save',
    'admin.store_select': 'Store', 'admin.next_run': 'next', 'admin.last_run': 'last', 'admin.visitor': 'visitor', 'admin.unavailable': 'Not available on this server yet ({message}).',
    'admin.created': 'Created.', 'admin.saved': 'Saved.', 'admin.run_started': 'Job {name} started.', 'admin.member_of': 'Member of this store',
    'err.network': 'The server cannot be reached. Check your connection and try again.',
    'err.generic': 'Something went wrong: {message}',
    'ev.mileage.granted': '+{points} points at {store} (balance {balance})',
    'ev.coupon.issued': 'New coupon from {store}!', 'ev.coupon.redeemed': 'Coupon used at {store}',
    'ev.order.placed': 'Order: {qty} × {title}', 'ev.stock.changed': '{title}: {n} left at {store}', 'ev.stock.low': 'Low stock: {title} at {store} ({n})',
    'ev.product.updated': 'Album updated: {title}', 'ev.support.opened': 'New conversation from {name}', 'ev.support.message': '{name}: {text}',
    'ev.support.closed': 'Conversation closed', 'ev.inquiry.received': 'Inquiry: {subject}', 'ev.announcement': '{text}',
    'ev.job.completed': 'Job {name} finished', 'ev.product.created': 'New album: {title}', 'ev.other': '{type}',
    'ev.mileage.earned': '+{points} points earned on order #{order_id} at {store} (balance {balance})',
    'ev.mileage.corrected': 'Correction at {store}: {points} points (balance {balance})',
    'ev.mileage.reversed': '{points} points taken back at {store}: order #{order_id} was returned (balance {balance})',
    'ev.coupon.revoked': 'Coupon #{coupon_id} from {store} was withdrawn: its points were earned on a returned order (balance {balance})',
    'ev.coupon.restored': 'Coupon #{coupon_id} from {store} can be used again: order #{order_id} was returned',
    'ev.coupon.redeemed_order': 'Coupon #{coupon_id} paid part of order #{order_id} at {store}',
    'ev.order.returned': 'Returned: {returned} × {title} at {store}',
    'coupon.revoked': 'withdrawn',
    'coupon.expired': 'expired',
    'ev.mileage.expiring': '{points} points at {store} will expire on {date}: use them before then',
    'ev.mileage.expired': '{points} points at {store} expired unused (balance {balance})',
    'ev.coupon.expired': 'Coupon #{coupon_id} from {store} expired unused',
    'expiry.points': '{points} points expire on {date} ({when})',
    'expiry.today': 'expires today', 'expiry.in_one': 'expires in 1 day', 'expiry.in_days': 'expires in {n} days',
    'order.album': 'Album', 'order.qty': 'Qty', 'order.total': 'Total', 'order.discount': 'Discount', 'order.paid': 'Paid',
    'order.points_h': 'Points', 'order.status_h': 'Status', 'order.buyer': 'Customer',
    'order.points': '+{points} points', 'order.points_back': '({points} taken back)',
    'order.status.placed': 'Placed', 'order.status.partially_returned': 'Partially returned ({n} of {qty})',
    'order.status.returned': 'Returned ({n})',
    'shop.coupon': 'Coupon', 'shop.no_coupon': 'No coupon', 'shop.coupon_option': 'Coupon #{id}: {value} off',
    'shop.bought_paid': 'Bought {qty} × {title}: paid {paid}', 'shop.bought_discount': ' ({discount} off with a coupon)',
    'shop.notify': 'Notify me', 'shop.watching': 'Watching ✓', 'shop.unwatch': 'stop',
    'shop.back': '{title} is back in stock at {store} ({n} in stock)',
    'ev.stock.back': '{title} is back in stock at {store} ({n})',
    'shop.bought_points': ', +{points} points', 'shop.earn_note': 'Purchases at {store} earn {percent}% of what you pay in points.',
    'admin.orders': 'Orders', 'admin.no_orders': 'No orders at this store yet.', 'admin.more': 'Show more',
    'admin.return': 'Return', 'admin.return_qty': 'Quantity to return', 'admin.return_reason': 'Reason',
    'admin.address': 'Address',
    'admin.returned': 'Returned {qty} × {title} (order #{id}).', 'admin.points_reversed': '{points} points taken back.',
    'admin.coupons_revoked': 'Coupons withdrawn: {ids}.', 'admin.coupon_restored': 'Coupon #{id} can be used again.',
    'admin.balance_now': 'The customer\'s balance is now {balance}.',
    'admin.store_settings': 'Store and loyalty policy', 'admin.coupon_threshold': 'Points per coupon',
    'admin.earn_percent': 'Points earned on purchases (% of the amount paid, 0 to 20)', 'admin.coupon_value': 'Coupon value at checkout (won)',
    'admin.points_valid_days': 'Points stay valid for (days, 0 = never expire)', 'admin.coupon_valid_days': 'Coupons stay valid for (days, 0 = never expire)',
    'coupon.default_label': 'COUPON',
  },
  ko: {
    'app.name': 'pointcast',
    'nav.customer': '내 포인트', 'nav.shop': '레코드 숍', 'nav.admin': '관리 콘솔',
    'lang.switch': 'English',
    'state.connecting': '연결 중', 'state.live': '실시간', 'state.reconnecting': '재연결 중', 'state.offline': '오프라인',
    'auth.title': '로그인', 'auth.member_no': '회원번호', 'auth.login': '아이디', 'auth.password': '비밀번호',
    'auth.submit': '로그인', 'auth.logout': '로그아웃', 'auth.signup': '가입하기', 'auth.signup_title': '처음이신가요? 회원가입',
    'auth.name': '이름', 'auth.phone': '전화번호', 'auth.signed_up': '환영합니다! 회원번호는 {no}입니다. 이 번호로 로그인하세요.',
    'auth.hello': '{name}님, 안녕하세요', 'auth.token': '또는 API 토큰 붙여넣기', 'auth.use_token': '토큰 사용',
    'auth.staff_only': '이 콘솔은 매장 점주와 관리자용입니다.',
    'customer.balances': '내 마일리지', 'customer.no_stores': '아직 가입한 매장이 없습니다.',
    'customer.join': '가입', 'customer.joined': '{store}에 가입했습니다.', 'customer.join_title': '매장',
    'customer.next_coupon': '다음 쿠폰까지 {left}점 (기준 {threshold}점)',
    'customer.coupons': '내 쿠폰', 'customer.no_coupons': '아직 쿠폰이 없습니다. 포인트를 모아 보세요!',
    'customer.orders': '내 주문', 'customer.no_orders': '주문 내역이 없습니다.',
    'customer.events': '실시간 알림', 'customer.no_events': '새 소식이 생기면 여기에 바로 표시됩니다.',
    'coupon.redeemed': '사용됨', 'coupon.valid': '사용 가능',
    'chat.title': '고객센터', 'chat.placeholder': '메시지를 입력하세요…', 'chat.send': '보내기',
    'chat.empty': '무엇이든 물어보세요. 여기에서 실시간으로 답해 드립니다.', 'chat.close': '상담 종료', 'chat.closed': '종료된 상담입니다.',
    'chat.you': '나', 'chat.staff': '상담원',
    'shop.title': '앨범', 'shop.store': '매장', 'shop.buy': '구매', 'shop.qty': '수량', 'shop.in_stock': '재고 {n}개',
    'shop.sold_out': '품절', 'shop.bought': '{title} {qty}장을 구매했습니다.', 'shop.no_products': '아직 앨범이 없습니다.',
    'shop.insufficient': '재고가 부족합니다. {title}은(는) {n}개 남았는데 {qty}개를 주문하셨습니다.',
    'shop.login_to_buy': '구매하려면 내 포인트 페이지에서 로그인하세요.', 'shop.pick_store': '매장 선택',
    'admin.title': '관리 콘솔', 'admin.stores': '매장', 'admin.members': '회원과 마일리지', 'admin.find': '회원 찾기',
    'admin.find_placeholder': '이름 또는 번호', 'admin.grant': '적립', 'admin.points': '포인트', 'admin.reason': '사유',
    'admin.audit': '감사 기록', 'admin.audit_kind': '작업', 'admin.audit_all': '전체', 'admin.audit_actor': '직원 번호',
    'admin.audit_from': '시작일', 'admin.audit_to': '종료일', 'admin.audit_show': '조회', 'admin.audit_none': '해당하는 기록이 없습니다.',
    'audit.grant': '적립', 'audit.correction': '정정', 'audit.coupon_redeem': '쿠폰 사용', 'audit.order_return': '반품',
    'audit.stock_set': '재고 설정', 'audit.stock_adjust': '재고 조정', 'audit.store_policy': '정책 변경', 'audit.coupon_design': '쿠폰 디자인',
    'admin.reason_code': '사유 코드', 'admin.code.offline_purchase': '매장 구매', 'admin.code.promotion': '프로모션',
    'admin.code.compensation': '보상', 'admin.code.correction': '정정 (음수 가능)',
    'admin.granted': '{name}님께 {points}점을 적립했습니다. 잔액 {balance}점.', 'admin.coupons_issued': '쿠폰 {n}장이 발급되었습니다.',
    'admin.redeem': '쿠폰 사용 처리', 'admin.coupon_id': '쿠폰 번호', 'admin.redeemed': '쿠폰 {id}번을 사용 처리했습니다.',
    'admin.products': '상품', 'admin.add_product': '앨범 추가', 'admin.title_f': '제목', 'admin.artist': '아티스트', 'admin.price': '가격',
    'admin.stock': '재고', 'admin.set_stock': '저장', 'admin.stock_set': '{title} 재고를 {n}개로 설정했습니다.', 'admin.low': '부족',
    'admin.inventory': '재고 현황', 'admin.conversations': '상담', 'admin.reply': '답장', 'admin.no_conversations': '진행 중인 상담이 없습니다.',
    'admin.announce': '공지', 'admin.announce_all': '전체', 'admin.announce_store': '매장 회원', 'admin.send': '보내기',
    'admin.announced': '공지를 보냈습니다.', 'admin.jobs': '작업과 일정', 'admin.jobs_missing': '이 서버에는 아직 작업 API가 없습니다.',
    'admin.connections': '현재 접속자', 'admin.refresh': '새로고침', 'admin.no_connections': '접속자가 없습니다.',
    'admin.events': '실시간 이벤트', 'admin.not_found': '회원을 찾을 수 없습니다.', 'admin.run': '지금 실행', 'admin.schedule': '일정', 'admin.save': '저장',
    'admin.store_select': '매장', 'admin.next_run': '다음 실행', 'admin.last_run': '최근 실행', 'admin.visitor': '방문자', 'admin.unavailable': '이 서버에서는 아직 사용할 수 없습니다 ({message}).',
    'admin.created': '생성했습니다.', 'admin.saved': '저장했습니다.', 'admin.run_started': '{name} 작업을 시작했습니다.', 'admin.member_of': '이 매장 회원',
    'err.network': '서버에 연결할 수 없습니다. 연결을 확인하고 다시 시도하세요.',
    'err.generic': '문제가 생겼습니다: {message}',
    'ev.mileage.granted': '{store}에서 {points}점 적립 (잔액 {balance}점)',
    'ev.coupon.issued': '{store} 쿠폰이 발급되었습니다!', 'ev.coupon.redeemed': '{store}에서 쿠폰을 사용했습니다',
    'ev.order.placed': '주문: {title} {qty}장', 'ev.stock.changed': '{title}: {store} 재고 {n}개', 'ev.stock.low': '재고 부족: {store}의 {title} ({n}개)',
    'ev.product.updated': '앨범 정보 변경: {title}', 'ev.support.opened': '{name}님의 새 상담', 'ev.support.message': '{name}: {text}',
    'ev.support.closed': '상담이 종료되었습니다', 'ev.inquiry.received': '문의: {subject}', 'ev.announcement': '{text}',
    'ev.job.completed': '{name} 작업 완료', 'ev.product.created': '새 앨범: {title}', 'ev.other': '{type}',
    'ev.mileage.earned': '{store} 주문 #{order_id} 구매 적립 +{points}점 (잔액 {balance}점)',
    'ev.mileage.corrected': '{store} 포인트 정정 {points}점 (잔액 {balance}점)',
    'ev.mileage.reversed': '{store} 주문 #{order_id} 반품으로 {points}점 차감 (잔액 {balance}점)',
    'ev.coupon.revoked': '반품된 주문으로 받은 포인트라 {store} 쿠폰 #{coupon_id}이(가) 회수되었습니다 (잔액 {balance}점)',
    'ev.coupon.restored': '주문 #{order_id}이(가) 반품되어 {store} 쿠폰 #{coupon_id}을(를) 다시 사용할 수 있습니다',
    'ev.coupon.redeemed_order': '{store} 주문 #{order_id}에 쿠폰 #{coupon_id}을(를) 사용했습니다',
    'ev.order.returned': '반품: {store} {title} {returned}장',
    'coupon.revoked': '회수됨',
    'coupon.expired': '기간 만료',
    'ev.mileage.expiring': '{store} 포인트 {points}점이 {date}에 소멸됩니다. 그 전에 사용하세요',
    'ev.mileage.expired': '{store} 포인트 {points}점이 사용되지 않아 소멸되었습니다 (잔액 {balance}점)',
    'ev.coupon.expired': '{store} 쿠폰 #{coupon_id}이(가) 사용되지 않고 기간이 만료되었습니다',
    'expiry.points': '{points}점이 {date}에 소멸 예정 ({when})',
    'expiry.today': '오늘 소멸', 'expiry.in_one': '1일 후 소멸', 'expiry.in_days': '{n}일 후 소멸',
    'order.album': '앨범', 'order.qty': '수량', 'order.total': '금액', 'order.discount': '할인', 'order.paid': '결제',
    'order.points_h': '포인트', 'order.status_h': '상태', 'order.buyer': '고객',
    'order.points': '+{points}점', 'order.points_back': '({points}점 차감)',
    'order.status.placed': '주문 완료', 'order.status.partially_returned': '부분 반품 ({qty}장 중 {n}장)',
    'order.status.returned': '반품 완료 ({n}장)',
    'shop.coupon': '쿠폰', 'shop.no_coupon': '쿠폰 사용 안 함', 'shop.coupon_option': '쿠폰 #{id}: {value} 할인',
    'shop.bought_paid': '{title} {qty}장을 구매했습니다. 결제 금액 {paid}', 'shop.bought_discount': ' (쿠폰 {discount} 할인)',
    'shop.notify': '입고 알림 받기', 'shop.watching': '알림 신청됨 ✓', 'shop.unwatch': '취소',
    'shop.back': '{title}이(가) {store}에 다시 입고되었습니다 (재고 {n}개)',
    'ev.stock.back': '{title} 재입고: {store} ({n}개)',
    'shop.bought_points': ', {points}점 적립', 'shop.earn_note': '{store}에서 구매하면 결제 금액의 {percent}%가 포인트로 적립됩니다.',
    'admin.orders': '주문', 'admin.no_orders': '이 매장의 주문이 아직 없습니다.', 'admin.more': '더 보기',
    'admin.return': '반품', 'admin.return_qty': '반품 수량', 'admin.return_reason': '사유',
    'admin.address': '주소',
    'admin.returned': '{title} {qty}장을 반품 처리했습니다 (주문 #{id}).', 'admin.points_reversed': '포인트 {points}점을 차감했습니다.',
    'admin.coupons_revoked': '회수한 쿠폰: {ids}.', 'admin.coupon_restored': '쿠폰 #{id}을(를) 다시 사용할 수 있습니다.',
    'admin.balance_now': '고객 잔액은 이제 {balance}점입니다.',
    'admin.store_settings': '매장과 적립 정책', 'admin.coupon_threshold': '쿠폰 1장당 포인트',
    'admin.earn_percent': '구매 적립률 (결제 금액의 %, 0~20)', 'admin.coupon_value': '결제 시 쿠폰 할인액 (원)',
    'admin.points_valid_days': '포인트 유효기간 (일, 0 = 소멸 없음)', 'admin.coupon_valid_days': '쿠폰 유효기간 (일, 0 = 만료 없음)',
    'coupon.default_label': '쿠폰',
  },
};

for (const extra of [CONSOLE_STRINGS, CUSTOMER_STRINGS]) {
  Object.assign(STRINGS.en, extra.en);
  Object.assign(STRINGS.ko, extra.ko);
}

/**
 * A sentence per API error `code` in both languages (web/js/errors.json; a Rust
 * test checks every code the API can send has both). Loaded once, before any page
 * script runs; without it the pages fall back to the server's English message.
 */
let ERRORS = {};
try {
  const r = await fetch('/assets/js/errors.json');
  if (r.ok) ERRORS = await r.json();
} catch {
  /* offline: the server's message is the fallback */
}

function initial() {
  const saved = localStorage.getItem(KEY);
  if (saved === 'ko' || saved === 'en') return saved;
  return (navigator.language || 'en').toLowerCase().startsWith('ko') ? 'ko' : 'en';
}

let lang = initial();
const listeners = [];

export function currentLang() {
  return lang;
}

/** The string for key in the current language, with {name} filled from vars. */
export function t(key, vars = {}) {
  const s = STRINGS[lang][key] ?? STRINGS.en[key] ?? key;
  return s.replace(/\{(\w+)\}/g, (_, k) => (vars[k] === undefined || vars[k] === null ? '' : String(vars[k])));
}

/** The reader's sentence for an API error code, or null when there is none. */
export function errorSentence(code) {
  const e = ERRORS[code];
  return (e && (e[lang] || e.en)) || null;
}

export function fmtNumber(n) {
  return Number(n || 0).toLocaleString(lang === 'ko' ? 'ko-KR' : 'en-US');
}

export function fmtWon(n) {
  return lang === 'ko' ? `${fmtNumber(n)}원` : `₩${fmtNumber(n)}`;
}

/** Hours and minutes only (lists where the day is today). */
export function fmtClock(iso) {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? '' : d.toLocaleTimeString(lang === 'ko' ? 'ko-KR' : 'en-US', { hour: '2-digit', minute: '2-digit' });
}

/** "expires in 3 days" (today / 1 day / n days) until `iso`, by the browser's clock. */
export function fmtExpiry(iso) {
  const ms = new Date(iso).getTime() - Date.now();
  if (!Number.isFinite(ms)) return '';
  const n = Math.ceil(ms / 86_400_000);
  if (n <= 0) return t('expiry.today');
  return n === 1 ? t('expiry.in_one') : t('expiry.in_days', { n });
}

/** The date only. */
export function fmtDate(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? String(iso) : d.toLocaleDateString(lang === 'ko' ? 'ko-KR' : 'en-US', { dateStyle: 'medium' });
}

export function fmtTime(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? String(iso) : d.toLocaleString(lang === 'ko' ? 'ko-KR' : 'en-US', { dateStyle: 'short', timeStyle: 'short' });
}

/** Date and time as the wall clock reads in `zone` (an IANA name such as Asia/Seoul). */
export function fmtInZone(iso, zone) {
  if (!iso) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  try {
    return d.toLocaleString(lang === 'ko' ? 'ko-KR' : 'en-US', { dateStyle: 'medium', timeStyle: 'short', timeZone: zone || 'UTC' });
  } catch {
    return fmtTime(iso);
  }
}

/** Fills every data-i18n element under root. */
export function translate(root = document) {
  document.documentElement.lang = lang;
  root.querySelectorAll('[data-i18n]').forEach((el) => { el.textContent = t(el.dataset.i18n); });
  root.querySelectorAll('[data-i18n-placeholder]').forEach((el) => { el.placeholder = t(el.dataset.i18nPlaceholder); });
  root.querySelectorAll('[data-i18n-aria]').forEach((el) => { el.setAttribute('aria-label', t(el.dataset.i18nAria)); });
}

export function setLang(l) {
  lang = l;
  localStorage.setItem(KEY, l);
  translate();
  listeners.forEach((f) => f(l));
}

/** Called after the language changes, to redraw what scripts rendered. */
export function onLangChange(f) {
  listeners.push(f);
}

/** Wires the visible switch (a button with id lang-switch). */
export function initLang() {
  translate();
  const btn = document.getElementById('lang-switch');
  if (btn) btn.addEventListener('click', () => setLang(lang === 'ko' ? 'en' : 'ko'));
}
